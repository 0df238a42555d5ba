import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

// What Node's HTTP parser refused, as Node's own default handler maps it (lib/_http_server.js).
const ANSWERS: Readonly<Record<string, { status: number; code: string }>> = {
  HPE_HEADER_OVERFLOW: { status: 431, code: 'request_header_fields_too_large' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, code: 'payload_too_large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'request_timeout' },
};
const BAD_REQUEST = { status: 400, code: 'bad_request' };

/**
 * The server's `clientError` handler, on both platforms: a request Node's HTTP parser refused
 * (more than 16 kB of headers, a malformed request line, a slow client) never reaches the
 * app, and Node answers it with no body (Fastify with a body without `code`). This answers it
 * as the app answers any bad input: JSON with a stable `code` (found by the HTTP fuzzer).
 * The connection is closed, as Node does: the parser's state is lost.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // A response already under way on this socket cannot be followed by another one.
  if (!socket.writable || (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
    socket.destroy();
    return;
  }
  const { status, code } = ANSWERS[error.code ?? ''] ?? BAD_REQUEST;
  const body = JSON.stringify({ statusCode: status, error: STATUS_CODES[status], message: STATUS_CODES[status], code });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
