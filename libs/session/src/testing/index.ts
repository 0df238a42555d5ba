export * from './fake-clock';
export * from './session-store.contract';
