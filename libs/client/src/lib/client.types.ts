/**
 * Why a session ended: the server's code (`session_revoked`, `refresh_token_reused`,
 * `session_expired`, `invalid_refresh_token`, `token_missing`, ...) or `logout` / `logout_all`.
 */
export type SessionEndReason = string;

/** A refresh of the access token, as every tab of the origin hears of it. */
export interface RefreshInfo {
  /** When the current access token was issued (epoch ms): at the last refresh, or at login. */
  at: number;
  /** The id of the tab that made that request (`SessionClient.tabId`). */
  by: string;
  /** True in the tab that made the request. */
  self: boolean;
  /** When the access token expires (epoch ms), or null when not known. */
  accessExpiresAt: number | null;
}

/** The part of the Web Locks API (`navigator.locks`) the client uses. */
export interface LockManagerLike {
  /** Runs `callback` while holding the exclusive lock `name`, released when its promise settles. */
  request<T>(name: string, callback: (lock: unknown) => Promise<T>): Promise<T>;
}

/** A message event as a channel delivers it. */
export interface ChannelMessageEvent {
  /** The posted value (structured-cloned by a BroadcastChannel). */
  readonly data: unknown;
}

/** The part of `BroadcastChannel` the client uses: messages reach every other tab, not the sender. */
export interface ChannelLike {
  /** Sends `message` to the other tabs. */
  postMessage(message: unknown): void;
  /** Listens to messages from the other tabs. */
  addEventListener(type: 'message', listener: (event: ChannelMessageEvent) => void): void;
  /** Stops listening. */
  removeEventListener(type: 'message', listener: (event: ChannelMessageEvent) => void): void;
  /** Closes the channel. */
  close(): void;
}

/** The part of `localStorage` the client uses. */
export interface StorageLike {
  /** The stored string, or null. */
  getItem(key: string): string | null;
  /** Stores a string. */
  setItem(key: string, value: string): void;
}

/** The part of `document` the client uses. */
export interface DocumentLike {
  /** The cookies script may read (the CSRF cookie among them; never the HttpOnly token cookies). */
  readonly cookie: string;
  /** `visible` while the page is shown. */
  readonly visibilityState: string;
  /** Listens to `visibilitychange`. */
  addEventListener(type: 'visibilitychange', listener: () => void): void;
  /** Stops listening to `visibilitychange`. */
  removeEventListener(type: 'visibilitychange', listener: () => void): void;
}

/** A socket.io client socket, typed structurally so this package does not depend on socket.io. */
export interface SocketLike {
  /** Adds an event listener. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- socket.io's listeners take any arguments
  on(event: string, listener: (...args: any[]) => void): unknown;
  /** Removes an event listener. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  off?(event: string, listener: (...args: any[]) => void): unknown;
  /** Opens the connection again (socket.io does not reconnect after the server closed it). */
  connect?(): unknown;
  /** True while connected. */
  readonly connected?: boolean;
}

/** Options of `createSessionClient`; every one is optional. */
export interface SessionClientOptions {
  /** Origin (and path prefix) of the API; default `''`, the page's own origin. */
  baseUrl?: string;
  /** Path of the session routes; default `'/auth'`. */
  authPath?: string;
  /** Name of the readable CSRF cookie; default `__Host-tessera-csrf`, else `tessera-csrf` when that one is set. */
  csrfCookieName?: string;
  /** Header that carries the CSRF token; default `X-CSRF-Token`. */
  csrfHeaderName?: string;
  /** Refresh this long before the access token expires; default min(30 s, a third of its lifetime). */
  refreshAheadMs?: number;
  /** Prefix of the lock, channel and storage key; default `'tessera'`. */
  name?: string;
  /** The fetch function; default the global `fetch`. */
  fetch?: typeof fetch;
  /** The lock manager; default `navigator.locks` (null to use the fallback). */
  locks?: LockManagerLike | null;
  /** Opens the channel to the other tabs; default `BroadcastChannel`, else `storage` events. */
  channel?: ((name: string) => ChannelLike) | null;
  /** Where the shared (token-free) session state lives; default `localStorage`. */
  storage?: StorageLike | null;
  /** The document; default the global `document`. */
  document?: DocumentLike | null;
  /** The clock (epoch ms); default `Date.now`. */
  now?: () => number;
  /** Makes the tab id; default 12 random hex digits from `crypto.getRandomValues`. */
  random?: () => string;
}

/** The session client of one tab. */
export interface SessionClient {
  /** This tab's id, random per tab (shown on the page, used to break ties between tabs). */
  readonly tabId: string;
  /** `fetch` with cookies, the CSRF header on unsafe methods, and one refresh-and-retry on `401 token_expired`. */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** `POST <authPath>/login`; on 200 every tab hears `signedIn`. */
  login(body: { email: string; password: string }): Promise<Response>;
  /** `POST <authPath>/register`. */
  register(body: { email: string; password: string }): Promise<Response>;
  /** `POST <authPath>/logout`, then the session ends (`logout`) in every tab. */
  logout(): Promise<void>;
  /** `POST <authPath>/logout-all`; unless `keepCurrent`, the session ends (`logout_all`) in every tab. */
  logoutAll(options?: { keepCurrent?: boolean }): Promise<void>;
  /** Refreshes the access token, one request at a time across tabs; true when the session lives. */
  refresh(): Promise<boolean>;
  /** Ends the session in every tab (e.g. on the server's push); `reason` is the server's code. */
  sessionEnded(reason: SessionEndReason): void;
  /** Follows the server's `session.ended` push on a socket.io socket; returns a function that detaches. */
  attachSocket(socket: SocketLike): () => void;
  /** Calls `listener` when the session ends, in this tab or another; returns a function that removes it. */
  onSessionEnded(listener: (reason: SessionEndReason) => void): () => void;
  /** Calls `listener` after each refresh by any tab; returns a function that removes it. */
  onRefreshed(listener: (info: RefreshInfo) => void): () => void;
  /** Calls `listener` after a login in this tab or another; returns a function that removes it. */
  onSignedIn(listener: () => void): () => void;
  /** When the current access token was issued and by which tab, as shared across tabs. */
  readonly lastRefresh: RefreshInfo | null;
  /** When the current access token expires (epoch ms), as shared across tabs; null when signed out. */
  readonly accessExpiresAt: number | null;
  /** Listens to the other tabs, schedules the proactive refresh and watches the page's visibility. */
  start(): void;
  /** Undoes `start()`: clears every timer and listener and closes the channel. */
  stop(): void;
}
