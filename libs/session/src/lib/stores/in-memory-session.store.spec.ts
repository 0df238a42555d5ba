import { describeSessionStoreContract } from '../../testing';
import { InMemorySessionStore } from './in-memory-session.store';

describeSessionStoreContract('in-memory', { setup: () => new InMemorySessionStore() });
