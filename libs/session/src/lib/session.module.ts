import { Module } from '@nestjs/common';
import { CsrfGuard } from './guards/csrf.guard';
import { SessionGuard } from './guards/session.guard';
import { SessionActivityInterceptor } from './interceptors/session-activity.interceptor';
import { SessionClock } from './interfaces/clock.interface';
import { SessionHttpAdapter } from './interfaces/session-http-adapter.interface';
import type { SessionModuleOptions } from './interfaces/session-module-options.interface';
import { SessionStore } from './interfaces/session-store.interface';
import { RESOLVED_SESSION_OPTIONS, resolveSessionOptions } from './options/session-options';
import type { ResolvedSessionOptions } from './options/session-options';
import { ConfigurableModuleClass, SESSION_MODULE_OPTIONS } from './session.module-definition';
import { AccessTokenService } from './services/access-token.service';
import { SessionService } from './services/session.service';
import { SessionAuthenticator } from './services/session-authenticator.service';
import { SessionActivityService } from './services/session-activity.service';
import { SessionEvents } from './services/session-events.service';
import { SessionUsers } from './services/session-users.service';
import { CsrfService } from './services/csrf.service';
import { SessionCookies } from './services/session-cookies.service';
import { SessionCleanupService } from './services/session-cleanup.service';
import { RevocationCache } from './services/revocation-cache.service';
import { SessionTransportService } from './services/session-transport.service';
import { SessionEndpoints } from './services/session-endpoints.service';
import { SessionSockets } from './services/session-sockets.service';
import { SessionJwtStrategy } from './strategies/session-jwt.strategy';
import { SessionTelemetry } from './telemetry/session-telemetry';
import { SessionTelemetryBridge } from './telemetry/session-telemetry.bridge';

/** The classes the module provides and exports as they are. */
const SERVICES = [
  AccessTokenService,
  SessionEvents,
  SessionUsers,
  RevocationCache,
  SessionService,
  SessionActivityService,
  SessionCookies,
  CsrfService,
  SessionCleanupService,
  SessionTransportService,
  SessionEndpoints,
  SessionAuthenticator,
  SessionSockets,
  SessionJwtStrategy,
  SessionGuard,
  CsrfGuard,
  SessionActivityInterceptor,
];

/**
 * Sessions for a Nest app: `SessionModule.forRoot({ jwtSecret, sessionSecret, store })`
 * or `forRootAsync`. The app mounts `SessionGuard` itself (`APP_GUARD`).
 */
@Module({
  providers: [
    {
      provide: RESOLVED_SESSION_OPTIONS,
      inject: [SESSION_MODULE_OPTIONS],
      useFactory: (options: SessionModuleOptions) => resolveSessionOptions(options),
    },
    {
      provide: SessionTelemetry,
      inject: [RESOLVED_SESSION_OPTIONS],
      useFactory: (options: ResolvedSessionOptions) => SessionTelemetry.create(options.telemetry),
    },
    {
      // The store itself, or its timed and traced proxy when telemetry records.
      provide: SessionStore,
      inject: [RESOLVED_SESSION_OPTIONS, SessionTelemetry],
      useFactory: (options: ResolvedSessionOptions, telemetry: SessionTelemetry) =>
        telemetry.instrumentStore(options.store),
    },
    SessionTelemetryBridge,
    {
      provide: SessionClock,
      inject: [RESOLVED_SESSION_OPTIONS],
      useFactory: (options: ResolvedSessionOptions) => options.clock,
    },
    {
      provide: SessionHttpAdapter,
      inject: [RESOLVED_SESSION_OPTIONS],
      useFactory: (options: ResolvedSessionOptions) => options.http,
    },
    ...SERVICES,
  ],
  exports: [
    RESOLVED_SESSION_OPTIONS,
    SessionStore,
    SessionTelemetry,
    SessionClock,
    SessionHttpAdapter,
    ...SERVICES,
  ],
})
export class SessionModule extends ConfigurableModuleClass {}
