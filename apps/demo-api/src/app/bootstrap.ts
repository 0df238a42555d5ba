import { Logger } from '@nestjs/common';
import type { INestApplication, LoggerService, LogLevel, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { SessionCleanupService, SessionClock, SessionCookies } from '@tessera/session';
import type { CleanupResult } from '@tessera/session';
import { JsonLineLogger } from './common/json-line.logger';
import { answerClientError } from './config/client-error';
import { AppModule } from './app.module';
import { LoginAttemptStore } from './auth/login-attempt.store';
import type { AppOverrides } from './app.module';
import { bodyDepthMiddleware } from './common/body-depth';
import { bodyErrorsMiddleware } from './common/body-errors.middleware';
import { registerFastifyBodyParsers } from './common/fastify-body-parsers';
import { corsOptions, noStoreHook, noStoreMiddleware, securityHeadersOptions } from './common/http-hardening';
import { createValidationPipe } from './common/validation';
import type { AppConfig } from './config/app-config';
import type { TrustProxy } from './config/trust-proxy';
import { applyServerLimits } from './config/server-limits';
import { GRAPHQL_PATH } from './graphql/demo-graphql.module';
import { graphqlPathItem } from './graphql/graphql.openapi';
import { migrate } from './database/database';
import { documentSessionListItem } from './sessions/session-list.service';

const BODY_LIMIT = '100kb';
/** BODY_LIMIT in bytes, as Fastify takes it (body-parser's `100kb` is 100 × 1024). */
const BODY_LIMIT_BYTES = 100 * 1024;

function requireDatabaseUrl(config: AppConfig): string {
  if (!config.databaseUrl) throw new Error('config.databaseUrl is not set (main.ts starts the embedded server)');
  return config.databaseUrl;
}

/** The logger LOG_FORMAT asks for: JSON lines (Nest's JSON console logger, written per event-loop turn), or Nest's text. */
export function appLogger(config: AppConfig, logLevels?: LogLevel[]): LoggerService | undefined {
  return config.logFormat === 'json' ? new JsonLineLogger(logLevels ? { logLevels } : {}) : undefined;
}

/** How to build the app; tests pass a clock and a logger. */
export interface CreateAppOptions extends AppOverrides {
  logger?: LoggerService | LogLevel[] | false;
}

/**
 * Builds the demo app with everything main.ts uses (body limits, validation,
 * OpenAPI, migrations), without listening, on the platform HTTP_ADAPTER names (the
 * API answers the same on both). Tests and main.ts share it.
 */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<INestApplication> {
  await migrate(requireDatabaseUrl(config));
  const nestOptions: NestApplicationOptions = { bodyParser: false, logger: options.logger ?? appLogger(config) };
  const app =
    config.httpAdapter === 'fastify'
      ? await createFastifyApp(config, options, nestOptions)
      : await createExpressApp(config, options, nestOptions);
  app.useGlobalPipes(createValidationPipe());

  const cookieNames = app.get(SessionCookies).names;
  documentSessionListItem();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Tessera demo API')
      .setDescription(
        'Sessions for NestJS: cookie mode and bearer mode. Contract: DEMO-API.md. Request bodies: at most 100 kB (`413`) ' +
          'and 32 levels of nested arrays and objects (`400 validation_failed`, field `body`).',
      )
      .setVersion('0.1.0')
      .addBearerAuth()
      .addCookieAuth(cookieNames.access, { type: 'apiKey', in: 'cookie' }, 'access-cookie')
      .addCookieAuth(cookieNames.refresh, { type: 'apiKey', in: 'cookie' }, 'refresh-cookie')
      .build(),
  );
  document.paths[GRAPHQL_PATH] = graphqlPathItem();
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });

  await app.init();
  return app;
}

async function createExpressApp(config: AppConfig, options: CreateAppOptions, nestOptions: NestApplicationOptions): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, options), nestOptions);
  app.disable('x-powered-by');
  // request.ip (login throttling, session records, audit) comes from X-Forwarded-For only
  // through the proxies TRUST_PROXY names; by default it is the socket's peer.
  app.set('trust proxy', config.trustProxy);
  // Headers first, so that every response carries them, body-parser's errors included.
  app.useSecurityHeaders(securityHeadersOptions(config));
  app.use(noStoreMiddleware);
  // Before the parsers, so that their errors carry the CORS headers too (as on Fastify).
  app.enableCors(corsOptions(config));
  applyServerLimits(app.getHttpServer(), config.serverLimits);
  // Requests Node's parser refuses get a JSON answer with a code too (Fastify: its clientErrorHandler).
  app.getHttpServer().on('clientError', answerClientError);
  app.useBodyParser('json', { limit: BODY_LIMIT });
  app.useBodyParser('urlencoded', { limit: BODY_LIMIT, extended: false });
  app.use(bodyDepthMiddleware);
  // After the parsers, so it sees their errors (Nest's filters never do).
  app.use(bodyErrorsMiddleware);
  return app;
}

/**
 * TRUST_PROXY as Fastify takes it. Addresses and `false` as they are (both platforms apply
 * them with proxy-addr); a hop count as the function Express makes of it (trust the `n`
 * hops nearest to the app), since Fastify 5.12 refuses numbers (it trusts no hop for
 * one): TRUST_PROXY=1 means the operator put one proxy in front, on either platform.
 */
function fastifyTrustProxy(trustProxy: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trustProxy !== 'number') return trustProxy;
  return (_address, hop) => hop < trustProxy;
}

/**
 * The same app on Fastify. Its router is told to match paths as Express's does (case
 * and a trailing slash ignored, no length cap on a parameter below the URL's own), its
 * parsers read bodies as body-parser does, and their errors reach `HttpExceptionFilter`
 * (Nest routes Fastify's errors through its filters), which answers them as
 * `bodyErrorsMiddleware` does on Express. Fastify sends no `X-Powered-By`.
 */
async function createFastifyApp(config: AppConfig, options: CreateAppOptions, nestOptions: NestApplicationOptions): Promise<INestApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: fastifyTrustProxy(config.trustProxy),
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true, maxParamLength: 8192 },
    clientErrorHandler: answerClientError,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options), adapter, nestOptions);
  // On Fastify the security hook runs before everything (parsers, errors and 404s included).
  app.useSecurityHeaders(securityHeadersOptions(config));
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', noStoreHook);
  registerFastifyBodyParsers(fastify, BODY_LIMIT_BYTES);
  // Nest runs CORS's onRequest hook before the security hook, so a preflight it ends would
  // lack the security headers; at preParsing it runs after them and before the body parsers,
  // whose errors (and 404s) still carry the CORS headers, as on Express.
  // strictPreflight off: an OPTIONS without Origin or Access-Control-Request-Method is answered
  // 204 as Express's cors answers it, not with @fastify/cors's 400 text/plain "Invalid
  // Preflight Request", which carries no `code` (found by the HTTP fuzzer).
  app.enableCors({ ...corsOptions(config), hook: 'preParsing', strictPreflight: false });
  applyServerLimits(app.getHttpServer(), config.serverLimits);
  return app;
}

/** Builds the app and listens on config.host:config.port (0 picks a free port). */
export async function startApp(config: AppConfig, options: CreateAppOptions = {}): Promise<INestApplication> {
  const app = await createApp(config, options);
  await app.listen(config.port, config.host);
  Logger.log(`Listening on ${await app.getUrl()}`, 'Bootstrap');
  return app;
}

/** Runs the session cleanup once, and prunes ended login-attempt windows, without serving HTTP (`npm run cleanup`). */
export async function runCleanupOnce(config: AppConfig): Promise<CleanupResult> {
  await migrate(requireDatabaseUrl(config));
  const levels: LogLevel[] = ['log', 'warn', 'error'];
  // One run, no scheduled job.
  const once: AppConfig = { ...config, session: { ...config.session, cleanup: { cron: false } } };
  const context = await NestFactory.createApplicationContext(AppModule.forRoot(once), {
    logger: appLogger(config, levels) ?? levels,
  });
  try {
    const result = await context.get(SessionCleanupService).run();
    await context.get(LoginAttemptStore).prune(context.get<SessionClock>(SessionClock).now().getTime());
    return result;
  } finally {
    await context.close();
  }
}
