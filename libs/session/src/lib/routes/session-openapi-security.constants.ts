// Apart from session-routes.openapi.ts so that the public types never mention @nestjs/swagger
// (an optional peer): an app without it still type-checks the package with skipLibCheck off.

/**
 * Names of the OpenAPI security schemes the session routes refer to; declare them in the
 * app's document: `new DocumentBuilder().addBearerAuth()` (named `bearer`),
 * `.addCookieAuth(names.access, { type: 'apiKey', in: 'cookie' }, 'access-cookie')` and
 * `.addCookieAuth(names.refresh, { type: 'apiKey', in: 'cookie' }, 'refresh-cookie')`.
 */
export const SESSION_OPENAPI_SECURITY = {
  bearer: 'bearer',
  accessCookie: 'access-cookie',
  refreshCookie: 'refresh-cookie',
} as const;

/**
 * The OpenAPI response of a route marked `@RequireFreshSession()`, for
 * `@ApiResponse(REAUTHENTICATION_REQUIRED_OPENAPI_RESPONSE)`: a plain object, so it needs no
 * `@nestjs/swagger` here. A route that also has other 401s lists them in one response of its own.
 */
export const REAUTHENTICATION_REQUIRED_OPENAPI_RESPONSE = {
  status: 401,
  description:
    '`reauthentication_required`: the session is valid but the user proved a credential too long ago for this action; ' +
    're-authenticate (the app\'s step-up route) and retry. Bearer requests get ' +
    '`WWW-Authenticate: Bearer error="insufficient_user_authentication", max_age=<seconds>` (RFC 9470).',
  headers: {
    'WWW-Authenticate': {
      description: 'Bearer requests only: `Bearer error="insufficient_user_authentication", error_description="...", max_age=<seconds>`',
      schema: { type: 'string' },
    },
  },
} as const;
