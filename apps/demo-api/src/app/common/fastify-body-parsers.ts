import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parse as parseQuery } from 'node:querystring';
import { BODY_TOO_DEEP, BODY_TOO_DEEP_MESSAGE, MAX_BODY_DEPTH, nestedDeeperThan } from './body-depth';

/** Most fields a form body may have, as body-parser's `parameterLimit`. */
const MAX_FORM_FIELDS = 1000;

/** An error in body-parser's shape (`status`, `type`), which `bodyErrorReply` answers as on Express. */
function bodyError(status: number, message: string, type: string): Error {
  return Object.assign(new Error(message), { status, statusCode: status, type });
}

/** The `charset` parameter of the request's `Content-Type`, lower case; undefined when absent. */
function charsetOf(request: FastifyRequest): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers['content-type'] ?? '');
  return match?.[1].toLowerCase();
}

/** The body as text, in its charset (UTF-8 by default); undefined for a charset we cannot read. */
function decode(body: Buffer, charset = 'utf-8'): string | undefined {
  if (charset === 'utf-8') return body.toString('utf8');
  try {
    return new TextDecoder(charset).decode(body);
  } catch {
    return undefined;
  }
}

/**
 * JSON as Express's `body-parser` reads it, so both platforms answer a body alike: any
 * `utf-*` charset (else 415), an empty body is `{}`, only an object or array at the top
 * ("strict"; else 400 `invalid_json`), and no nesting past MAX_BODY_DEPTH (400, checked
 * before any pipe; see `bodyDepthMiddleware`).
 */
export function parseJsonBody(request: FastifyRequest, body: Buffer): unknown {
  const charset = charsetOf(request);
  const text = charset === undefined || charset.startsWith('utf-') ? decode(body, charset) : undefined;
  if (text === undefined) throw bodyError(415, `unsupported charset "${charset}"`, 'charset.unsupported');
  if (text.length === 0) return {};
  // JSON's whitespace (RFC 8259 §2), as body-parser skips it.
  const first = /^[ \t\n\r]*(.)/.exec(text)?.[1];
  if (first !== '{' && first !== '[') throw bodyError(400, 'Request body is not a JSON object or array', 'entity.parse.failed');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bodyError(400, 'Request body is not valid JSON', 'entity.parse.failed');
  }
  if (nestedDeeperThan(parsed, MAX_BODY_DEPTH)) throw bodyError(400, BODY_TOO_DEEP_MESSAGE, BODY_TOO_DEEP);
  return parsed;
}

function decodeOrKeep(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A form body as body-parser's `urlencoded({ extended: false })` reads it: flat fields, UTF-8, at most 1000 of them. */
export function parseFormBody(request: FastifyRequest, body: Buffer): unknown {
  const charset = charsetOf(request) ?? 'utf-8';
  if (charset !== 'utf-8') throw bodyError(415, `unsupported charset "${charset}"`, 'charset.unsupported');
  const text = body.toString('utf8');
  if (text.length === 0) return {};
  if (text.split('&').length > MAX_FORM_FIELDS) throw bodyError(413, 'too many parameters', 'parameters.too.many');
  // As qs (body-parser's parser) decodes: a malformed escape is kept as sent.
  const fields = parseQuery(text, '&', '=', { maxKeys: MAX_FORM_FIELDS, decodeURIComponent: decodeOrKeep });
  // querystring gives an object without a prototype, where `__proto__` is a plain key; qs drops that key.
  delete fields['__proto__'];
  return { ...fields };
}

/**
 * Replaces Fastify's body parsers with ones that read bodies as the Express app does:
 * JSON and form bodies up to `bodyLimit` (413 beyond, from Fastify), and any other
 * content type left unread (Express has no parser for it; Fastify would answer 415).
 */
export function registerFastifyBodyParsers(fastify: FastifyInstance, bodyLimit: number): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, (request, body, done) => {
    try {
      done(null, parseJsonBody(request, body as Buffer));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer', bodyLimit }, (request, body, done) => {
    try {
      done(null, parseFormBody(request, body as Buffer));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  fastify.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
}
