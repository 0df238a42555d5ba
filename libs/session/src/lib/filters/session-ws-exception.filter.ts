import { Catch, HttpException, Logger } from '@nestjs/common';
import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';

/** What a client receives in the `exception` event of a refused or failed socket message. */
export interface SessionWsError {
  /** Always `error`, as in Nest's own `exception` events. */
  status: 'error';
  /** The HTTP API's code for the same refusal (`token_missing`, `forbidden`, `store_unavailable`, ...), when there is one. */
  code?: string;
  /** The HTTP status the same refusal answers with over HTTP, when there is one. */
  statusCode?: number;
  /** A message for people, never echoing what the client sent. */
  message: string;
  /** The message (`pattern`) that was refused. */
  cause: { pattern: unknown };
}

const UNKNOWN_ERROR = 'Internal server error';

/**
 * Exception filter for WebSocket gateways (`@UseFilters(SessionWsExceptionFilter)` on the
 * gateway: Nest applies no global filter to gateways). Nest's own one passes on only a
 * `WsException`'s message and answers "Internal server error" to anything else, so a
 * `SessionGuard` refusal would lose its code; this one sends the client an `exception` event
 * `{ status: 'error', code, statusCode, message, cause: { pattern } }` for every HTTP
 * exception (the same `code` and message as over HTTP), a `WsException`'s error as Nest
 * does, and "Internal server error" for anything else, which it logs by kind only (no
 * stack or message: they may hold what the client sent). It never echoes the message's data.
 * Loads no WebSocket code: the client is used through its `emit`.
 */
@Catch()
export class SessionWsExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('SessionWsExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ws = host.switchToWs();
    const client = ws.getClient<{ emit?: (event: string, payload: unknown) => unknown } | undefined>();
    if (typeof client?.emit !== 'function') return;
    client.emit('exception', this.errorOf(exception, ws.getPattern()));
  }

  /** The payload sent for an exception (protected: a subclass may add to it). */
  protected errorOf(exception: unknown, pattern: unknown): SessionWsError & Record<string, unknown> {
    const cause = { pattern };
    if (exception instanceof HttpException) {
      const body = exception.getResponse();
      const fields = typeof body === 'object' && body !== null ? (body as { code?: unknown; message?: unknown }) : {};
      return {
        status: 'error',
        ...(typeof fields.code === 'string' ? { code: fields.code } : {}),
        statusCode: exception.getStatus(),
        message: typeof fields.message === 'string' || Array.isArray(fields.message) ? (fields.message as string) : exception.message,
        cause,
      };
    }
    // A WsException (recognised by shape: @nestjs/websockets is not loaded here).
    const wsError = this.wsErrorOf(exception);
    if (wsError !== undefined) {
      return typeof wsError === 'object' && wsError !== null
        ? { status: 'error', message: UNKNOWN_ERROR, ...(wsError as Record<string, unknown>), cause }
        : { status: 'error', message: String(wsError), cause };
    }
    this.logger.error(`A socket message handler failed (${exception instanceof Error ? exception.name : typeof exception})`);
    return { status: 'error', message: UNKNOWN_ERROR, cause };
  }

  private wsErrorOf(exception: unknown): unknown {
    // WsException (and its subclasses) keeps its payload behind getError().
    if (!(exception instanceof Error)) return undefined;
    const getError = (exception as { getError?: unknown }).getError;
    return typeof getError === 'function' ? (getError as () => unknown).call(exception) : undefined;
  }
}
