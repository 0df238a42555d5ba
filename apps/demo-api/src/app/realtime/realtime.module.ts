import { Module } from '@nestjs/common';
import { SessionEventRelay } from './session-event-relay';
import { SessionEventsGateway } from './session-events.gateway';

/** The `/ws` socket.io gateway and the relay of users' session events between instances. */
@Module({ providers: [SessionEventRelay, SessionEventsGateway] })
export class RealtimeModule {}
