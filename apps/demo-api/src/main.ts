import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { resolve } from 'node:path';
import { SessionConfigError } from '@tessera/session';
import { appLogger, runCleanupOnce, startApp } from './app/bootstrap';
import { ConfigError, loadConfig } from './app/config/app-config';
import { describeSessionConfigError } from './app/config/session-env';
import { startEmbeddedPostgres } from '@tessera/embedded-postgres';
import type { EmbeddedPostgres } from '@tessera/embedded-postgres';

const logger = new Logger('Main');

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const jsonLogger = appLogger(config);
  if (jsonLogger) Logger.overrideLogger(jsonLogger);
  for (const warning of config.warnings) logger.warn(warning);

  let embedded: EmbeddedPostgres | undefined;
  if (!config.databaseUrl) {
    const dataDir = resolve(process.cwd(), config.dataDir);
    logger.log(`DATABASE_URL is not set: starting the embedded PostgreSQL server in ${dataDir}`);
    embedded = await startEmbeddedPostgres({ dataDir, database: 'tessera' });
    if (embedded.dataDir !== dataDir) {
      logger.log(`The postgres user cannot enter ${dataDir} (it runs the server, since this process is root): the data is in ${embedded.dataDir}`);
    }
    config.databaseUrl = embedded.url;
  }

  if (process.argv[2] === 'cleanup') {
    try {
      const result = await runCleanupOnce(config);
      logger.log(`Cleanup: ${result.ran ? `deleted ${result.deleted} sessions in ${result.durationMs} ms` : 'another instance holds the lock'}`);
    } finally {
      await embedded?.stop();
    }
    process.exit(0);
  }

  let app: Awaited<ReturnType<typeof startApp>> | undefined;
  let stopping = false;
  // Our own handlers rather than enableShutdownHooks(): Nest's re-raises the signal
  // (exit code 143) and cannot stop the embedded server after the pools are closed.
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: draining requests and shutting down`);
    try {
      await app?.close(); // stops accepting, waits for in-flight requests, closes pools
      await embedded?.stop();
      process.exit(0);
    } catch (error) {
      logger.error(`Shutdown failed (${error instanceof Error ? error.name : typeof error})`);
      process.exit(1);
    }
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);

  try {
    app = await startApp(config);
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    logger.error(error.message);
  } else if (error instanceof SessionConfigError) {
    // loadConfig checks the options first; this names the variable should a refusal come later (at module init).
    logger.error(`Invalid configuration:\n  - ${describeSessionConfigError(error)}`);
  } else {
    logger.error(`Startup failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  }
  process.exit(1);
});
