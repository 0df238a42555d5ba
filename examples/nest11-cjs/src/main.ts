import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AppModule } from './app.module.js';
import { loadConfig } from './config.js';

async function bootstrap(): Promise<void> {
  const config = loadConfig();
  const app = await NestFactory.create(AppModule.forRoot(config));
  // SIGTERM / SIGINT close the pools and Tessera's LISTEN connection before the process exits.
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
  const jobs = [...app.get(SchedulerRegistry).getCronJobs().keys()].join(', ') || 'none';
  new Logger('App').log(`listening on ${await app.getUrl()}; cron jobs: ${jobs}`);
}

bootstrap().catch((error: unknown) => {
  // A configuration error's message says what to fix; nothing else of the error is printed.
  new Logger('App').error(`cannot start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
