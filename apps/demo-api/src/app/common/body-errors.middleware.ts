import { Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { BODY_TOO_DEEP, BODY_TOO_DEEP_MESSAGE, isStackOverflow } from './body-depth';
import { errorBody, requestTooComplex } from './error-body';
import type { ErrorBody } from './error-body';
import { validationFailed } from './validation';

const logger = new Logger('BodyParser');

/** Fastify's codes for the body-parser error types they stand for (fastify/lib/errors.js). */
const FASTIFY_BODY_ERRORS: Readonly<Record<string, string>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'entity.too.large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'request.size.invalid',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'entity.parse.failed',
  FST_ERR_CTP_INVALID_JSON_BODY: 'entity.parse.failed',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'encoding.unsupported',
};

/** The body-parser error types our own parsers and checks throw too (`fastify-body-parsers.ts`, `body-depth.ts`). */
const BODY_ERROR_TYPES = new Set(['entity.too.large', 'entity.parse.failed', 'charset.unsupported', 'parameters.too.many', BODY_TOO_DEEP]);

/**
 * The body-parser error `type` of an error met while reading a body: body-parser's own
 * (Express), ours (`bodyDepthMiddleware`, the Fastify parsers) or the one a Fastify body
 * error (`FST_ERR_CTP_*`) stands for. Undefined for any other error.
 */
export function bodyErrorType(error: unknown): string | undefined {
  const { type, code } = (error ?? {}) as { type?: unknown; code?: unknown };
  if (typeof type === 'string' && BODY_ERROR_TYPES.has(type)) return type;
  if (typeof code === 'string' && code.startsWith('FST_ERR_CTP_')) return FASTIFY_BODY_ERRORS[code] ?? code;
  return undefined;
}

/**
 * The answer to an error met while reading a body (too large, malformed JSON, bad
 * charset, too deep), the same on Express and Fastify. Anything else a parser throws
 * is a 4xx when it says so, else a bare 500 logged by its name only.
 */
export function bodyErrorReply(error: unknown): { status: number; body: ErrorBody } {
  const type = bodyErrorType(error) ?? (error as { type?: unknown } | undefined)?.type;
  const { status: rawStatus, statusCode } = (error ?? {}) as { status?: unknown; statusCode?: unknown };
  const status = Number(rawStatus ?? statusCode);
  if (type === 'entity.too.large') return { status: 413, body: errorBody(413, 'Request body is larger than 100 kB', 'payload_too_large') };
  if (type === 'entity.parse.failed') return { status: 400, body: errorBody(400, 'Request body is not valid JSON', 'invalid_json') };
  if (type === BODY_TOO_DEEP) return { status: 400, body: validationFailed([BODY_TOO_DEEP_MESSAGE], ['body']).getResponse() as ErrorBody };
  if (isStackOverflow(error)) {
    logger.error('Stack overflow while reading a body; answered 400 request_too_complex');
    return { status: 400, body: requestTooComplex() };
  }
  if (type === 'charset.unsupported' || type === 'encoding.unsupported') {
    return { status: 415, body: errorBody(415, 'Unsupported body encoding', 'unsupported_media_type') };
  }
  if (Number.isInteger(status) && status >= 400 && status < 500) return { status, body: errorBody(status, 'Request body could not be read') };
  logger.error(`Unhandled ${error instanceof Error ? error.name : typeof error} while reading a body; answered 500`);
  return { status: 500, body: errorBody(500, 'Internal server error') };
}

/**
 * Express error middleware for failures before Nest's router sees the request
 * (body-parser: too large, malformed JSON, bad charset; bodyDepthMiddleware: too deep).
 * Without it Express answers with an HTML page that, outside production, includes a
 * stack trace. (On Fastify the same errors reach `HttpExceptionFilter`.)
 */
export function bodyErrorsMiddleware(error: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) return next(error);
  const reply = bodyErrorReply(error);
  res.status(reply.status).json(reply.body);
}
