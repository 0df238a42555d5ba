export * from './lib/constants';
export * from './lib/session.module';
export type { SessionModuleExtras } from './lib/session.module-definition';
export * from './lib/interfaces/clock.interface';
export * from './lib/interfaces/session-store.interface';
export * from './lib/interfaces/session-module-options.interface';
export * from './lib/interfaces/authenticated.interface';
export * from './lib/interfaces/session-http-adapter.interface';
export * from './lib/adapters/express-http.adapter';
export * from './lib/adapters/fastify-http.adapter';
export * from './lib/adapters/platform-http.adapter';
export { validateSessionOptions } from './lib/options/session-options';
export type { SessionCookieNames } from './lib/options/session-options';
export * from './lib/exceptions/session-auth.exception';
export * from './lib/exceptions/session-config.error';
export * from './lib/exceptions/session-store-unavailable.error';
export * from './lib/exceptions/session-unavailable.exception';
export * from './lib/services/access-token.service';
export * from './lib/services/session.service';
export * from './lib/services/session-events.service';
export * from './lib/services/session-users.service';
export type { ClaimValue, SessionClaims, StoredClaims } from './lib/interfaces/session.interface';
export { MAX_CLAIMS_BYTES, RESERVED_CLAIMS, SessionClaimsError } from './lib/utils/claims.util';
export * from './lib/services/session-activity.service';
export * from './lib/interceptors/session-activity.interceptor';
export type { PublicJwk } from './lib/options/key-ring';
export * from './lib/services/session-transport.service';
export * from './lib/services/session-endpoints.service';
export { SessionRoutesModule } from './lib/routes/session-routes.module';
export { ROUTES_ERROR_MESSAGES } from './lib/routes/session-routes.options';
export type {
  ResolvedSessionRoute,
  ResolvedSessionRoutesOptions,
  SessionRouteName,
  SessionRouteSetting,
  SessionRoutesOptions,
  SessionRouteTemplate,
} from './lib/routes/session-routes.options';
export { REAUTHENTICATION_REQUIRED_OPENAPI_RESPONSE, SESSION_OPENAPI_SECURITY } from './lib/routes/session-openapi-security.constants';
export * from './lib/dto/session-view.dto';
export * from './lib/dto/refresh.dto';
export * from './lib/dto/logout-all.dto';
export * from './lib/exceptions/session-validation.exception';
export * from './lib/exceptions/session-not-found.exception';
export * from './lib/services/session-authenticator.service';
export * from './lib/services/session-sockets.service';
export * from './lib/interfaces/session-socket.interface';
export * from './lib/filters/session-ws-exception.filter';
export { SessionJwtStrategy } from './lib/strategies/session-jwt.strategy';
export { principalOf, sessionOf } from './lib/utils/session-request.util';
export * from './lib/guards/session.guard';
export * from './lib/guards/csrf.guard';
export * from './lib/services/csrf.service';
export * from './lib/services/session-cookies.service';
export * from './lib/services/session-cleanup.service';
export * from './lib/decorators/skip-csrf.decorator';
export * from './lib/decorators/public.decorator';
export * from './lib/decorators/roles.decorator';
export * from './lib/decorators/require-fresh-session.decorator';
export * from './lib/decorators/current-user.decorator';
export * from './lib/decorators/current-session.decorator';
export * from './lib/utils/graphql-error.util';
export * from './lib/stores/in-memory-session.store';
export { parseDuration } from './lib/utils/duration';
export { SessionMetric, SessionTelemetry, TELEMETRY_SCOPE } from './lib/telemetry/session-telemetry';
export type { CounterName, SessionTelemetrySources } from './lib/telemetry/session-telemetry';
export type {
  TelemetryAttributes,
  TelemetryInstrument,
  TelemetryMeter,
  TelemetryMeterProvider,
  TelemetryObservable,
  TelemetryObservableResult,
  TelemetrySpan,
  TelemetryTracer,
  TelemetryTracerProvider,
} from './lib/telemetry/otel-api';
export { SESSION_HEALTH_TIMEOUT_MS, isSessionHealthy, sessionHealthDetails } from './lib/utils/session-health.util';
export type { SessionFeedStatus, SessionHealthCheckOptions, SessionHealthDetails, SessionHealthIndicatorResult } from './lib/utils/session-health.util';
export { UNKNOWN_DEVICE, clientHintsOf, describeDevice, deviceDescriber } from './lib/utils/device.util';
export type { ClientHints, DeviceDescription, DeviceType, SessionDevice } from './lib/utils/device.util';
/** A size-bounded map (oldest entry out first), the one the library's own caches use; apps use it for theirs. */
export { BoundedMap } from './lib/utils/bounded-map';
