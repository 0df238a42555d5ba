import { LogoutAllDto } from '../dto/logout-all.dto';
import { RefreshDto, REFRESH_TOKEN_MAX_LENGTH } from '../dto/refresh.dto';
import { SessionView } from '../dto/session-view.dto';
import { SESSION_ID_PATTERN } from '../utils/refresh-token-chain';
import { SESSION_OPENAPI_SECURITY } from './session-openapi-security.constants';
import { CsrfRoute, LogoutAllRoute, LogoutRoute, RefreshRoute, RevokeSessionRoute, SessionsRoute } from './session-route.controllers';

/** `@nestjs/swagger`, as its types describe it (never loaded by this file's imports). */
type Swagger = typeof import('@nestjs/swagger');

/** The 401 `code`s of a route that needs a signed-in session. */
const UNAUTHORIZED_CODES = '`token_missing`, `token_invalid`, `token_expired`, `session_revoked`, `session_expired`';
const CSRF_FAILED = '`csrf_failed`: a cookie-mode request without a valid `X-CSRF-Token`, or from another origin';
const STORE_UNAVAILABLE =
  '`store_unavailable`: the session store cannot be reached; keep the tokens and retry after `Retry-After` seconds';
const AUTH_MODE_HEADER = {
  name: 'X-Auth-Mode',
  required: false,
  description: 'Send `bearer` to get tokens in the body instead of cookies.',
};

/** Applies method decorators to an already defined method (what `@Decorator()` above it would do). */
function decorateMethod(target: { prototype: object }, method: string, decorators: MethodDecorator[]): void {
  const descriptor = Object.getOwnPropertyDescriptor(target.prototype, method);
  if (!descriptor) throw new Error(`Tessera: no method ${method} to document`);
  for (const decorator of decorators) decorator(target.prototype, method, descriptor);
}

/** Applies property decorators to the fields of a body or response class. */
function decorateProperties(target: { prototype: object }, properties: Record<string, PropertyDecorator>): void {
  for (const [name, decorator] of Object.entries(properties)) decorator(target.prototype, name);
}

/** Puts the OpenAPI metadata of every session route and DTO on their classes, as decorators would have. */
export function decorateSessionRoutes(swagger: Swagger): void {
  const { ApiBearerAuth, ApiBody, ApiCookieAuth, ApiHeader, ApiOperation, ApiParam, ApiProperty, ApiPropertyOptional } = swagger;
  const { ApiResponse, ApiTags } = swagger;
  const authenticated = [ApiBearerAuth(SESSION_OPENAPI_SECURITY.bearer), ApiCookieAuth(SESSION_OPENAPI_SECURITY.accessCookie)];
  const unauthorized = ApiResponse({ status: 401, description: UNAUTHORIZED_CODES });
  const csrfFailed = ApiResponse({ status: 403, description: CSRF_FAILED });
  const storeUnavailable = ApiResponse({
    status: 503,
    description: STORE_UNAVAILABLE,
    headers: { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } } },
  });

  decorateProperties(RefreshDto, {
    refreshToken: ApiPropertyOptional({
      type: String,
      maxLength: REFRESH_TOKEN_MAX_LENGTH,
      description: 'Bearer mode only: the refresh token from the last login or refresh.',
    }),
  });
  decorateProperties(LogoutAllDto, {
    keepCurrent: ApiPropertyOptional({
      type: Boolean,
      default: false,
      description: 'Keep the session making this request; revoke only the others.',
    }),
  });
  decorateProperties(SessionView, {
    id: ApiProperty({ type: String, description: 'Public handle of the session (not a credential)', example: 'h0x2Qm1aZkP4sT9uVw3yBg' }),
    createdAt: ApiProperty({ type: String, format: 'date-time', description: 'Login time' }),
    lastSeenAt: ApiProperty({ type: String, format: 'date-time', description: 'Last recorded activity' }),
    expiresAt: ApiProperty({ type: String, format: 'date-time', description: 'When the session ends unless it is used again' }),
    userAgent: ApiProperty({ type: String, nullable: true, description: 'User agent seen at login' }),
    ip: ApiProperty({ type: String, nullable: true, description: 'Client IP seen at login' }),
    current: ApiProperty({ type: Boolean, description: 'Whether this is the session making the request' }),
    device: ApiProperty({
      type: 'object',
      description:
        'Browser, OS and device type in words, parsed from `userAgent` (and, for the current session, the User-Agent Client Hints of this request)',
      required: ['browser', 'os', 'type', 'label'],
      properties: {
        browser: { type: 'string', nullable: true, example: 'Chrome' },
        os: { type: 'string', nullable: true, example: 'Linux' },
        type: { type: 'string', enum: ['desktop', 'mobile', 'tablet', 'tv', 'bot', 'unknown'] },
        label: { type: 'string', example: 'Chrome 156 on Linux (desktop)' },
      },
    }),
  });

  for (const route of [CsrfRoute, RefreshRoute, LogoutRoute, LogoutAllRoute]) ApiTags('auth')(route);
  for (const route of [SessionsRoute, RevokeSessionRoute]) ApiTags('sessions')(route);

  decorateMethod(CsrfRoute, 'csrf', [
    ApiOperation({
      summary: 'Get a CSRF token',
      description:
        'Sets the readable CSRF cookie and returns the same token; cookie-mode pages send it back in `X-CSRF-Token` ' +
        'on every POST, PUT, PATCH and DELETE. Bound to the current session when there is one.',
    }),
    ApiResponse({ status: 200, description: '`{ csrfToken }`' }),
    storeUnavailable,
  ]);
  decorateMethod(RefreshRoute, 'refresh', [
    ApiHeader(AUTH_MODE_HEADER),
    ApiCookieAuth(SESSION_OPENAPI_SECURITY.refreshCookie),
    ApiOperation({ summary: 'Rotate the refresh token and get a new access token' }),
    ApiBody({ type: RefreshDto, required: false }),
    ApiResponse({ status: 200, description: 'Same shapes as login' }),
    ApiResponse({ status: 400, description: '`validation_failed`: `refreshToken` is not a string or too long, or an unknown field' }),
    ApiResponse({
      status: 401,
      description:
        '`invalid_refresh_token`, `refresh_token_reused`, `session_expired`, `session_revoked`, ' +
        '`cookie_conflict` (a session cookie sent twice, or cookies of two sessions)',
    }),
    csrfFailed,
    storeUnavailable,
  ]);
  decorateMethod(LogoutRoute, 'logout', [
    ...authenticated,
    ApiOperation({ summary: 'End this session' }),
    ApiResponse({ status: 204, description: 'Session revoked, cookies cleared, `Clear-Site-Data: "cookies"`' }),
    unauthorized,
    csrfFailed,
    storeUnavailable,
  ]);
  decorateMethod(LogoutAllRoute, 'logoutAll', [
    ...authenticated,
    ApiOperation({
      summary: 'End every session of the user',
      description: 'With `keepCurrent: true` the session making the request survives and its cookies stay.',
    }),
    ApiBody({ type: LogoutAllDto, required: false }),
    ApiResponse({ status: 204, description: 'Sessions revoked; unless `keepCurrent`, cookies cleared and `Clear-Site-Data: "cookies"`' }),
    ApiResponse({ status: 400, description: '`validation_failed`: `keepCurrent` is not a boolean, or an unknown field' }),
    unauthorized,
    csrfFailed,
    storeUnavailable,
  ]);
  decorateMethod(SessionsRoute, 'list', [
    ...authenticated,
    ApiOperation({ summary: "The caller's live sessions", description: 'Oldest first; `current` marks the session making the request.' }),
    ApiResponse({ status: 200, type: [SessionView] }),
    unauthorized,
    storeUnavailable,
  ]);
  decorateMethod(RevokeSessionRoute, 'revoke', [
    ...authenticated,
    ApiParam({ name: 'id', description: 'Session id, as listed', schema: { type: 'string', pattern: SESSION_ID_PATTERN.source } }),
    ApiOperation({
      summary: "End one of the caller's sessions",
      description: 'Ending the current session also clears its cookies, like logout.',
    }),
    ApiResponse({ status: 204, description: 'Session revoked' }),
    unauthorized,
    csrfFailed,
    ApiResponse({
      status: 404,
      description: '`session_not_found`: not a session of the caller, unknown, already revoked, or not a session id',
    }),
    storeUnavailable,
  ]);
}

/** Whether `error` says that `@nestjs/swagger` itself is not installed (not that it failed to load). */
export function isSwaggerMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  return (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') && message.includes('@nestjs/swagger');
}

let documented: Promise<boolean> | undefined;

/**
 * Documents the session routes for `SwaggerModule.createDocument`, once per process:
 * loads `@nestjs/swagger` (an optional peer) with a dynamic import and applies its
 * decorators to the route and DTO classes. Resolves `false`, silently, when the package
 * is not installed; any other failure rejects. The core never loads swagger otherwise.
 */
export function documentSessionRoutes(load: () => Promise<Swagger> = () => import('@nestjs/swagger')): Promise<boolean> {
  documented ??= load().then(
    (swagger) => {
      decorateSessionRoutes(swagger);
      return true;
    },
    (error: unknown) => {
      if (isSwaggerMissing(error)) return false;
      documented = undefined; // let a later app try again
      throw error;
    },
  );
  return documented;
}
