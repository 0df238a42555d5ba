import { HttpStatus } from '@nestjs/common';

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
