import { Catch, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import { storeOutageOf } from '@tessera/session';
import type { Response } from 'express';
import { isStackOverflow } from './body-depth';

const CODES_BY_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable_entity',
  429: 'too_many_requests',
  503: 'service_unavailable',
};

/** The JSON body of every error response. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  code: string;
  [extra: string]: unknown;
}

/** Builds an error body with a stable `code` for a status. */
export function errorBody(statusCode: number, message: string | string[], code?: string): ErrorBody {
  return {
    statusCode,
    error: HttpStatus[statusCode] ? titleCase(HttpStatus[statusCode]) : 'Error',
    message,
    code: code ?? CODES_BY_STATUS[statusCode] ?? (statusCode >= 500 ? 'internal_error' : 'bad_request'),
  };
}

function titleCase(name: string): string {
  return name
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(' ');
}

/**
 * 400 `request_too_complex`: the answer to a stack overflow. Overflows that depend on
 * the request come from its shape (bodies past MAX_BODY_DEPTH are refused before any
 * pipe, so this is the net behind that guard), and DEMO-API allows no 500 for anything a
 * client sends; a 5xx would also invite retrying the same request. A recursion bug would
 * overflow on every request instead: the error log line makes either case visible.
 */
export function requestTooComplex(): ErrorBody {
  return errorBody(400, 'The request is too complex to process', 'request_too_complex');
}

/**
 * Gives every error response the same shape with a stable `code`, and makes sure
 * nothing unexpected leaks: an unknown error becomes a bare 500 and is logged by
 * its name only (driver errors carry SQL and parameter values in their messages).
 * A session-store outage (`storeOutageOf`: a `SessionStoreUnavailableError` from the
 * app's own `SessionService` calls, or the library's `SessionUnavailableException`) is
 * `503 store_unavailable` with `Retry-After`, never a 500.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): unknown {
    if (host.getType<string>() === 'graphql') return this.graphql(exception, host);
    const response = host.switchToHttp().getResponse<Response>();
    if (response.headersSent) return;
    const outage = storeOutageOf(exception);
    if (outage) {
      // The library logs the outages it answers itself; this line is for the app's own calls.
      if (outage !== exception) this.logger.warn(`Session store unavailable (${(exception as Error).name}); answered 503`);
      response.setHeader('Retry-After', String(outage.retryAfterSeconds));
      response.status(503).json(outage.getResponse());
      return;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const raw = exception.getResponse();
      const body =
        typeof raw === 'object' && raw !== null
          ? { ...errorBody(status, exception.message), ...(raw as Record<string, unknown>) }
          : errorBody(status, String(raw));
      const retryAfter = (exception as HttpException & { retryAfterSeconds?: unknown }).retryAfterSeconds;
      if (typeof retryAfter === 'number') response.setHeader('Retry-After', String(retryAfter));
      if (status >= 500) this.logger.error(`HTTP ${status} (${exception.name})`);
      response.status(status).json(body);
      return;
    }
    if (isStackOverflow(exception)) {
      this.logger.error('Stack overflow while handling a request; answered 400 request_too_complex');
      response.status(400).json(requestTooComplex());
      return;
    }
    this.logger.error(`Unhandled ${exception instanceof Error ? exception.name : typeof exception}; answered 500`);
    response.status(500).json(errorBody(500, 'Internal server error'));
    return undefined;
  }

  /**
   * A resolver's (or its guards') error: handed back to the GraphQL server, which puts
   * it in `errors[]` through `sessionGraphqlFormatError` (REST codes, nothing internal).
   * Here only what the REST path does besides the body: the same log lines (by name,
   * never the message: Nest's default filter would log a driver error's SQL and stack),
   * an app-side store outage mapped to `store_unavailable`, and `Retry-After` on the
   * response when there is one (the GraphQL context's `res` or `reply`).
   */
  private graphql(exception: unknown, host: ArgumentsHost): unknown {
    const outage = storeOutageOf(exception);
    if (outage && outage !== exception) this.logger.warn(`Session store unavailable (${(exception as Error).name}); answered 503`);
    const failure = outage ?? exception;
    if (failure instanceof HttpException) {
      const retryAfter = (failure as HttpException & { retryAfterSeconds?: unknown }).retryAfterSeconds;
      const context = host.getArgByIndex<{ res?: unknown; reply?: unknown } | undefined>(2);
      const response = (context?.res ?? context?.reply) as { header?: (name: string, value: string) => unknown } | undefined;
      // Express's `res.header` and Fastify's `reply.header` alike.
      if (typeof retryAfter === 'number' && typeof response?.header === 'function') response.header('Retry-After', String(retryAfter));
      if (failure.getStatus() >= 500 && !outage) this.logger.error(`GraphQL ${failure.getStatus()} (${failure.name})`);
    } else if (isStackOverflow(exception)) {
      this.logger.error('Stack overflow while resolving a GraphQL field; answered internal_error');
    } else {
      this.logger.error(`Unhandled ${exception instanceof Error ? exception.name : typeof exception} in a resolver; answered internal_error`);
    }
    // Returned, not thrown: Nest hands a filter's result to graphql-js, which reports an Error as the field's error.
    return failure instanceof Error ? failure : new Error('Unexpected error value');
  }
}
