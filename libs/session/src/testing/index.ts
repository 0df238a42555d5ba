export * from './fake-clock';
export * from './session-store.contract';
export * from './with-jose';
