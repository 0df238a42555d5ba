/**
 * The parts of a socket.io `Socket` that Tessera uses, typed structurally so that the core
 * loads (and its typings name) no socket.io code: a socket.io 4 server socket fits.
 */
export interface SessionSocket {
  /** The socket's id (socket.io's, per connection). */
  readonly id: string;
  /** The handshake: the upgrade (or first polling) request's headers, and the client's `auth` payload. */
  readonly handshake: {
    readonly headers: Readonly<Record<string, string | string[] | undefined>>;
    /** What the client passed as `io(url, { auth })`. */
    readonly auth: unknown;
    /** Whether the handshake came over TLS. */
    readonly secure?: boolean;
    /** The client's address as socket.io saw it. */
    readonly address?: string;
  };
  /** Sends an event to this client. */
  emit(event: string, ...args: unknown[]): unknown;
  /** Adds a listener for an event from this client (or a reserved one, such as `disconnect`). */
  on(event: string, listener: (...args: never[]) => void): unknown;
  /** Disconnects the client; `true` closes the underlying connection as well. */
  disconnect(close?: boolean): unknown;
}

/** A socket.io middleware: `next()` admits the socket, `next(error)` refuses its handshake (`connect_error`). */
export type SessionSocketMiddleware = (socket: SessionSocket, next: (error?: Error) => void) => void;

/** The parts of a socket.io `Server` or `Namespace` that `SessionSockets.attach` uses. */
export interface SessionSocketServer {
  /** Registers a middleware run on every handshake. */
  use(middleware: SessionSocketMiddleware): unknown;
  /** Listens for connections (`connection`). */
  on(event: 'connection', listener: (socket: SessionSocket) => void): unknown;
}

/** What a client receives in the `connect_error` of a refused handshake, as `error.data`. */
export interface SessionSocketRefusal {
  /** The same code as the HTTP API's 401 / 403 / 503: `token_missing`, `session_revoked`, `csrf_failed`, ... */
  code: string;
}

/** Payload of the `session.ended` event sent just before the server closes a socket. */
export interface SessionEndedEvent {
  /** `session_revoked` (logout, logout-all, reuse detection, admin revoke, ...) or `token_expired`. */
  code: string;
}

/** Names of the events `SessionSockets` sends and handles on every socket it tracks. */
export const SESSION_SOCKET_EVENTS = {
  /** Sent to the client, `{ code }`, right before its socket is closed because its session ended or its token expired. */
  ended: 'session.ended',
  /** Sent by the client, `{ token }` (a fresh access token of the same session), to keep its socket open past the old token's expiry. */
  reauthenticate: 'session.reauthenticate',
} as const;
