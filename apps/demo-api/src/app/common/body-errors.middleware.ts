import { Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { BODY_TOO_DEEP, BODY_TOO_DEEP_MESSAGE, isStackOverflow } from './body-depth';
import { errorBody, requestTooComplex } from './http-exception.filter';
import { validationFailed } from './validation';

const logger = new Logger('BodyParser');

/**
 * Express error middleware for failures before Nest's router sees the request
 * (body-parser: too large, malformed JSON, bad charset; bodyDepthMiddleware: too deep).
 * Without it Express answers with an HTML page that, outside production, includes a
 * stack trace.
 */
export function bodyErrorsMiddleware(error: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) return next(error);
  const type = (error as { type?: unknown })?.type;
  const status = Number((error as { status?: unknown })?.status);
  if (type === 'entity.too.large') {
    res.status(413).json(errorBody(413, 'Request body is larger than 100 kB', 'payload_too_large'));
  } else if (type === 'entity.parse.failed') {
    res.status(400).json(errorBody(400, 'Request body is not valid JSON', 'invalid_json'));
  } else if (type === BODY_TOO_DEEP) {
    res.status(400).json(validationFailed([BODY_TOO_DEEP_MESSAGE], ['body']).getResponse());
  } else if (isStackOverflow(error)) {
    logger.error('Stack overflow while reading a body; answered 400 request_too_complex');
    res.status(400).json(requestTooComplex());
  } else if (type === 'charset.unsupported' || type === 'encoding.unsupported') {
    res.status(415).json(errorBody(415, 'Unsupported body encoding', 'unsupported_media_type'));
  } else if (Number.isInteger(status) && status >= 400 && status < 500) {
    res.status(status).json(errorBody(status, 'Request body could not be read'));
  } else {
    logger.error(`Unhandled ${error instanceof Error ? error.name : typeof error} while reading a body; answered 500`);
    res.status(500).json(errorBody(500, 'Internal server error'));
  }
}
