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
