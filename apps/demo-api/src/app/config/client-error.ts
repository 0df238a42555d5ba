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
export function answerClientError(error: Error & { code?: string; rawPacket?: unknown }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // As Node: answer only on a connection nothing was written to yet (a response under way,
  // or an earlier one, would be followed by a stray second one), then close it.
  if (!socket.writable || (socket as Duplex & { bytesWritten?: number }).bytesWritten !== 0) {
    socket.destroy();
    return;
  }
  const { status, code } = ANSWERS[error.code ?? ''] ?? BAD_REQUEST;
  const body = JSON.stringify({ statusCode: status, error: STATUS_CODES[status], message: STATUS_CODES[status], code });
  // The answer to a HEAD has no body (RFC 9110 §9.3.2): its client would read one as a next response.
  const head = Buffer.isBuffer(error.rawPacket) && error.rawPacket.subarray(0, 5).toString('latin1') === 'HEAD ';
  socket.write(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${head ? '' : body}`,
  );
  // Destroyed, not ended, as Node does: a response the app may still be writing must not follow.
  socket.destroy();
}
