import { HttpException, HttpStatus } from '@nestjs/common';
import { storeOutageOf } from '../exceptions/session-unavailable.exception';

/**
 * A GraphQL error as a server sends it (graphql-js's `GraphQLFormattedError`), typed
 * structurally so that the core loads no GraphQL code: `sessionGraphqlFormatError` fits
 * the `formatError` option of Apollo Server (and so of `@nestjs/apollo`). Servers with
 * another hook (Mercurius's `errorFormatter`) can build on `graphqlErrorExtensionsOf`.
 */
export interface SessionGraphqlFormattedError {
  /** What the client is told. */
  readonly message: string;
  /** Where in the query document the error is. */
  readonly locations?: ReadonlyArray<{ readonly line: number; readonly column: number }>;
  /** The response field the error is about. */
  readonly path?: ReadonlyArray<string | number>;
  /** Machine-readable details: `code`, `status`, ... */
  readonly extensions?: { readonly [key: string]: unknown };
}

/** `extensions` of a GraphQL error that stands for an HTTP exception: the HTTP API's `code`, and its status. */
export interface SessionGraphqlErrorExtensions {
  /** The HTTP API's stable code: `token_missing`, `csrf_failed`, `session_not_found`, `store_unavailable`, ... */
  code: string;
  /** The HTTP status the same failure has on a REST route (the GraphQL response itself is a 200). */
  status: number;
  /** Seconds to wait before retrying (`store_unavailable`), as the REST route's `Retry-After`. */
  retryAfter?: number;
  /** The fields at fault (`validation_failed`). */
  fields?: string[];
  /** Whatever else the server adds. */
  [key: string]: unknown;
}

/** Codes of HTTP exceptions whose body names none (a plain `NotFoundException()`), as the demo's REST errors. */
const CODES_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  422: 'unprocessable_entity',
  429: 'too_many_requests',
  503: 'service_unavailable',
};

/** Message and code of an error a resolver threw that is neither an HTTP exception nor a shaped GraphQL error. */
export const GRAPHQL_INTERNAL_ERROR = { message: 'Internal server error', code: 'internal_error' } as const;

/**
 * The `formatError` of a GraphQL server that answers like Tessera's HTTP API
 * (`GraphQLModule.forRoot({ driver: ApolloDriver, formatError: sessionGraphqlFormatError })`):
 *
 * - an HTTP exception thrown by a guard or a resolver (`SessionGuard`'s 401s, `CsrfGuard`'s
 *   403 `csrf_failed`, 404 `session_not_found`, a store outage's 503 `store_unavailable`,
 *   any Nest `HttpException`) becomes `{ message, locations, path, extensions: { code, status } }`
 *   with the code of its REST body (else one derived from the status), `retryAfter` for a 503
 *   and `fields` for a `validation_failed`. It replaces what `@nestjs/apollo` makes of them
 *   (`UNAUTHENTICATED`, `FORBIDDEN`, else `INTERNAL_SERVER_ERROR`, plus the whole REST body
 *   under `extensions.originalError`);
 * - any other error a resolver threw (a driver error quoting SQL, a bug) is masked as
 *   `internal_error` with a fixed message, as the REST API's 500 (OWASP ASVS 5.0 V16.5.1:
 *   no internals in responses); a `GraphQLError` the app threw itself, or an error that
 *   carries a string `extensions.code`, passes as the server made it;
 * - errors of the request itself (syntax, validation, variables) pass as the server made them;
 * - `extensions.stacktrace` (Apollo adds it whenever `NODE_ENV` is neither `production` nor
 *   `test`) and `extensions.exception` never leave, whatever the environment.
 *
 * Typed structurally and loading nothing of GraphQL: `error` is what the server hands
 * `formatError` (a `GraphQLError` whose `originalError` chain ends at what was thrown).
 */
export function sessionGraphqlFormatError(
  formatted: SessionGraphqlFormattedError,
  error: unknown,
): SessionGraphqlFormattedError {
  const where = { ...(formatted.locations ? { locations: formatted.locations } : {}), ...(formatted.path ? { path: formatted.path } : {}) };
  const thrown = thrownBy(error);
  if (thrown === undefined) return withoutInternals(formatted);
  const http = storeOutageOf(thrown) ?? (thrown instanceof HttpException ? thrown : undefined);
  if (http) return { message: messageOf(http), ...where, extensions: graphqlErrorExtensionsOf(http) };
  if (isShapedGraphqlError(thrown)) return withoutInternals(formatted);
  return {
    message: GRAPHQL_INTERNAL_ERROR.message,
    ...where,
    extensions: { code: GRAPHQL_INTERNAL_ERROR.code, status: HttpStatus.INTERNAL_SERVER_ERROR },
  };
}

/**
 * The GraphQL `extensions` of an HTTP exception: `{ code, status }` from its REST body
 * (plus `retryAfter` seconds when it has one, and `fields` of a `validation_failed`).
 */
export function graphqlErrorExtensionsOf(exception: HttpException): SessionGraphqlErrorExtensions {
  const status = exception.getStatus();
  const body = exception.getResponse();
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const code =
    typeof fields.code === 'string' ? fields.code : (CODES_BY_STATUS[status] ?? (status >= 500 ? GRAPHQL_INTERNAL_ERROR.code : 'bad_request'));
  const extensions: SessionGraphqlErrorExtensions = { code, status };
  const retryAfter = (exception as { retryAfterSeconds?: unknown }).retryAfterSeconds;
  if (typeof retryAfter === 'number') extensions.retryAfter = retryAfter;
  if (Array.isArray(fields.fields) && fields.fields.every((field) => typeof field === 'string')) {
    extensions.fields = [...(fields.fields as string[])];
  }
  return extensions;
}

/**
 * What a resolver or guard threw: the end of the `originalError` chain (graphql-js wraps
 * it in a located `GraphQLError`; gateways may wrap again). Undefined for the server's
 * own errors (parse, validation, variable coercion), which have no `originalError`.
 */
function thrownBy(error: unknown): unknown {
  let current: unknown = error;
  let original = originalOf(current);
  if (original === undefined) return undefined;
  // Bounded: a cyclic chain must not hang the response.
  for (let depth = 0; original !== undefined && depth < 8; depth++) {
    current = original;
    original = originalOf(current);
  }
  return current;
}

/** A `GraphQLError` (by name: no GraphQL code is loaded), or an error with a string `extensions.code`. */
function isShapedGraphqlError(thrown: unknown): boolean {
  if (typeof thrown !== 'object' || thrown === null) return false;
  if ((thrown as { name?: unknown }).name === 'GraphQLError') return true;
  return typeof (thrown as { extensions?: { code?: unknown } }).extensions?.code === 'string';
}

function originalOf(error: unknown): unknown {
  if (typeof error !== 'object' || error === null) return undefined;
  const original = (error as { originalError?: unknown }).originalError;
  return original === null ? undefined : original;
}

/** The client-facing message of an HTTP exception: its REST body's `message` (a list joined). */
function messageOf(exception: HttpException): string {
  const body = exception.getResponse();
  const message = typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : body;
  if (typeof message === 'string') return message;
  if (Array.isArray(message) && message.every((line) => typeof line === 'string')) return message.join('; ');
  return exception.message;
}

/** The error without `extensions.stacktrace` / `exception` (Apollo's debug details). */
function withoutInternals(formatted: SessionGraphqlFormattedError): SessionGraphqlFormattedError {
  if (!formatted.extensions) return formatted;
  const { stacktrace: _stacktrace, exception: _exception, ...extensions } = formatted.extensions;
  return { ...formatted, extensions };
}
