import { Catch, HttpException, Logger } from '@nestjs/common';
import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { storeOutageOf } from '@tessera/session';
import { databaseOutageOf } from '../database/postgres-outage';
import { isStackOverflow } from './body-depth';
import { bodyErrorReply, bodyErrorType } from './body-errors.middleware';
import { errorBody, requestTooComplex } from './error-body';

export { errorBody, requestTooComplex } from './error-body';
export type { ErrorBody } from './error-body';

/**
 * Gives every error response the same shape with a stable `code`, and makes sure
 * nothing unexpected leaks: an unknown error becomes a bare 500 and is logged by
 * its name only (driver errors carry SQL and parameter values in their messages).
 * A session-store outage (`storeOutageOf`: a `SessionStoreUnavailableError` from the
 * app's own `SessionService` calls, or the library's `SessionUnavailableException`) is
 * `503 store_unavailable` with `Retry-After`, never a 500; so is an outage of the demo's
 * own database (`databaseOutageOf`), wherever a call missed the mapping.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  // Responses are written through Nest's HTTP adapter, so the filter works on Express and Fastify alike.
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): unknown {
    if (host.getType<string>() === 'graphql') return this.graphql(exception, host);
    const http = this.adapterHost.httpAdapter;
    const response = host.switchToHttp().getResponse<object>();
    if (http.isHeadersSent(response)) return undefined;
    const reply = (status: number, body: unknown) => http.reply(response, body, status);
    const outage = storeOutageOf(exception) ?? storeOutageOf(databaseOutageOf(exception));
    if (outage) {
      // The library logs the outages it answers itself; this line is for the app's own calls.
      if (outage !== exception) this.logger.warn(`Session store unavailable (${(exception as Error).name}); answered 503`);
      http.setHeader(response, 'Retry-After', String(outage.retryAfterSeconds));
      reply(503, outage.getResponse());
      return;
    }
    // On Fastify, errors of the body parsers come here (on Express, to bodyErrorsMiddleware):
    // ours as they are, Fastify's own (FST_ERR_CTP_*) wrapped by Nest in an HttpException.
    const bodyError = bodyErrorType(exception) !== undefined ? exception : bodyErrorCause(exception);
    if (bodyError !== undefined) {
      const answer = bodyErrorReply(bodyError);
      reply(answer.status, answer.body);
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
      if (typeof retryAfter === 'number') http.setHeader(response, 'Retry-After', String(retryAfter));
      if (status >= 500) this.logger.error(`HTTP ${status} (${exception.name})`);
      reply(status, body);
      return;
    }
    if (isStackOverflow(exception)) {
      this.logger.error('Stack overflow while handling a request; answered 400 request_too_complex');
      reply(400, requestTooComplex());
      return;
    }
    this.logger.error(`Unhandled ${exception instanceof Error ? exception.name : typeof exception}; answered 500`);
    reply(500, errorBody(500, 'Internal server error'));
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
    const outage = storeOutageOf(exception) ?? storeOutageOf(databaseOutageOf(exception));
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

/** The body error an `HttpException` wraps (Nest's Fastify adapter wraps Fastify's 4xx errors), if any. */
function bodyErrorCause(exception: unknown): unknown {
  if (!(exception instanceof HttpException)) return undefined;
  return bodyErrorType(exception.cause) !== undefined ? exception.cause : undefined;
}
