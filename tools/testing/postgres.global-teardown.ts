/** Drops the run's databases and stops the embedded server started by the global setup. */
export default async function globalTeardown(): Promise<void> {
  const state = globalThis.__TESSERA_TEST_DATABASE__;
  if (!state) return;
  for (const cleanup of state.cleanups) await cleanup();
}
