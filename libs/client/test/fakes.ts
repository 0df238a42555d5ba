// Fakes of what a browser gives the client (locks, channels, storage, document, cookies) and
// of the demo API's session contract (/work/shared/DEMO-API.md), for unit tests of the
// cross-tab logic. Time is Jest's fake clock: every "network" answer takes LATENCY_MS of it.
import type { ChannelLike, ChannelMessageEvent, DocumentLike, LockManagerLike, StorageLike } from '../src';
import { createSessionClient } from '../src';
import type { SessionClient, SessionClientOptions } from '../src';
import { storageChannel } from '../src/lib/storage-channel';
import type { StorageEventTarget } from '../src/lib/storage-channel';

export const LATENCY_MS = 10;

/** `navigator.locks`: exclusive, FIFO per name, released when the callback's promise settles. */
export class FakeLocks implements LockManagerLike {
  private readonly tails = new Map<string, Promise<unknown>>();
  granted = 0;

  request<T>(name: string, callback: (lock: unknown) => Promise<T>): Promise<T> {
    const previous = this.tails.get(name) ?? Promise.resolve();
    const run = previous.then(() => {
      this.granted++;
      return callback({ name, mode: 'exclusive' });
    });
    this.tails.set(
      name,
      run.catch(() => undefined),
    );
    return run;
  }
}

/** BroadcastChannel between simulated tabs: structured-cloned, asynchronous, never back to the sender. */
export class ChannelHub {
  private readonly open = new Set<FakeChannel>();
  readonly sent: unknown[] = [];

  channel = (name: string): ChannelLike => {
    const channel = new FakeChannel(name, this);
    this.open.add(channel);
    return channel;
  };

  deliver(from: FakeChannel, message: unknown): void {
    this.sent.push(structuredClone(message));
    for (const to of this.open) {
      if (to === from || to.name !== from.name) continue;
      const copy = structuredClone(message);
      setTimeout(() => to.receive(copy), 1);
    }
  }

  close(channel: FakeChannel): void {
    this.open.delete(channel);
  }
}

class FakeChannel implements ChannelLike {
  private readonly listeners = new Set<(event: ChannelMessageEvent) => void>();
  private closed = false;

  constructor(
    readonly name: string,
    private readonly hub: ChannelHub,
  ) {}

  postMessage(message: unknown): void {
    if (this.closed) throw new Error('InvalidStateError: channel closed');
    this.hub.deliver(this, message);
  }
  addEventListener(_type: 'message', listener: (event: ChannelMessageEvent) => void): void {
    this.listeners.add(listener);
  }
  removeEventListener(_type: 'message', listener: (event: ChannelMessageEvent) => void): void {
    this.listeners.delete(listener);
  }
  close(): void {
    this.closed = true;
    this.hub.close(this);
  }
  receive(data: unknown): void {
    if (!this.closed) for (const listener of this.listeners) listener({ data });
  }
}

/** localStorage of the origin, shared by the tabs; it remembers every value ever written. */
export class FakeStorage implements StorageLike {
  readonly items = new Map<string, string>();
  readonly writes: Array<{ key: string; value: string }> = [];

  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.writes.push({ key, value });
    this.items.set(key, String(value));
  }

  private readonly windows = new Set<EventTarget>();

  /** This storage as the tab of `window` sees it: its writes fire `storage` events in the other windows. */
  view(window: EventTarget): StorageLike {
    this.windows.add(window);
    return {
      getItem: (key) => this.getItem(key),
      setItem: (key, value) => {
        this.setItem(key, value);
        for (const other of this.windows) {
          if (other !== window) setTimeout(() => other.dispatchEvent(Object.assign(new Event('storage'), { key, newValue: value })), 1);
        }
      },
    };
  }
}

interface Cookie {
  value: string;
  httpOnly: boolean;
  /** Epoch ms after which the browser drops it (Max-Age). */
  expiresAt: number;
}

/** The browser's cookie jar, shared by the tabs of one profile. */
export class CookieJar {
  private readonly cookies = new Map<string, Cookie>();

  set(name: string, value: string, httpOnly: boolean, maxAgeMs = Infinity): void {
    this.cookies.set(name, { value, httpOnly, expiresAt: Date.now() + maxAgeMs });
  }
  delete(name: string): void {
    this.cookies.delete(name);
  }
  get(name: string): string | undefined {
    const cookie = this.cookies.get(name);
    return cookie && cookie.expiresAt > Date.now() ? cookie.value : undefined;
  }
  /** What `document.cookie` shows: not the HttpOnly ones. */
  readable(): string {
    return [...this.cookies]
      .filter(([, cookie]) => !cookie.httpOnly && cookie.expiresAt > Date.now())
      .map(([name, cookie]) => `${name}=${cookie.value}`)
      .join('; ');
  }
}

/** `document` of one tab. */
export class FakeDocument implements DocumentLike {
  visibilityState: 'visible' | 'hidden' = 'visible';
  private readonly listeners = new Set<() => void>();

  constructor(private readonly jar: CookieJar) {}

  get cookie(): string {
    return this.jar.readable();
  }
  addEventListener(_type: 'visibilitychange', listener: () => void): void {
    this.listeners.add(listener);
  }
  removeEventListener(_type: 'visibilitychange', listener: () => void): void {
    this.listeners.delete(listener);
  }
  setVisibility(state: 'visible' | 'hidden'): void {
    this.visibilityState = state;
    for (const listener of [...this.listeners]) listener();
  }
  get listenerCount(): number {
    return this.listeners.size;
  }
}

export const AT = 'tessera-at';
export const RT = 'tessera-rt';
export const CSRF = 'tessera-csrf';

/** A scripted answer that replaces the server's own for the next refresh requests. */
export interface ScriptedAnswer {
  status: number;
  code?: string;
  headers?: Record<string, string>;
}

/** A request as the fake server saw it. */
export interface SeenRequest {
  method: string;
  path: string;
  csrf: string | null;
  credentials: RequestCredentials | undefined;
}

/**
 * The demo API's session contract in cookie mode (COOKIE_SECURE=false names): CSRF double
 * submit on every unsafe request, login/refresh answering `expiresIn` and rotating the
 * refresh token with a reuse grace window, access cookies whose Max-Age is the token's
 * lifetime (so an expired token is usually not sent at all: `token_missing`).
 */
export class FakeServer {
  accessTtlMs = 60_000;
  graceMs = 10_000;
  /** How much longer than the token the access cookie lives (clock skew): then the server sees `token_expired`. */
  cookieSlackMs = 0;
  /** Answer for /api/me regardless of the token (to test that the client retries once only). */
  forcedMe: ScriptedAnswer | undefined;
  readonly refreshScript: ScriptedAnswer[] = [];
  readonly requests: SeenRequest[] = [];
  /** Every secret value the server ever put in a cookie or a body. */
  readonly issued = new Set<string>();
  refreshes = 0;
  graceUses = 0;
  private serial = 0;
  private session: { alive: boolean; refreshToken: string; previous?: { token: string; rotatedAt: number }; retired: Set<string> } | undefined;
  private access: { token: string; expiresAt: number } | undefined;
  private readonly validCsrf = new Set<string>();

  constructor(readonly jar: CookieJar) {}

  count(method: string, path: string): number {
    return this.requests.filter((request) => request.method === method && request.path === path).length;
  }

  /** Revokes the session server-side (an admin, another device). */
  revoke(): void {
    if (this.session) this.session.alive = false;
  }

  fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const request = input instanceof Request ? input : undefined;
    const url = new URL(request ? request.url : String(input), 'http://localhost');
    const method = (init.method ?? request?.method ?? 'GET').toUpperCase();
    const headers = new Headers(init.headers ?? request?.headers);
    const body = init.body ?? request?.body;
    if (body instanceof ReadableStream) await new Response(body).text(); // consumes it, as sending does
    this.requests.push({ method, path: url.pathname, csrf: headers.get('x-csrf-token'), credentials: init.credentials });
    await new Promise((resolve) => setTimeout(resolve, LATENCY_MS));
    return this.answer(method, url.pathname, headers, init.credentials === 'omit', typeof body === 'string' ? body : '');
  };

  private next(prefix: string): string {
    const value = `${prefix}-${++this.serial}-${Math.random().toString(36).slice(2)}`;
    this.issued.add(value);
    return value;
  }

  private json(status: number, body: unknown, extra: Record<string, string> = {}): Response {
    return new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...extra } });
  }

  private error(status: number, code: string, extra?: Record<string, string>): Response {
    return this.json(status, { statusCode: status, error: 'Error', message: code, code }, extra);
  }

  private issueCsrf(): string {
    const token = this.next('csrf');
    this.validCsrf.add(token);
    this.jar.set(CSRF, token, false);
    return token;
  }

  private issueTokens(refreshToken: string): { csrfToken: string; expiresIn: number } {
    const access = this.next('at');
    this.access = { token: access, expiresAt: Date.now() + this.accessTtlMs };
    this.jar.set(AT, access, true, this.accessTtlMs + this.cookieSlackMs);
    this.jar.set(RT, refreshToken, true);
    return { csrfToken: this.issueCsrf(), expiresIn: this.accessTtlMs / 1000 };
  }

  private answer(method: string, path: string, headers: Headers, omit: boolean, body: string): Response {
    const cookie = (name: string) => (omit ? undefined : this.jar.get(name));
    if (method === 'GET' && path === '/auth/csrf') return this.json(200, { csrfToken: this.issueCsrf() });
    if (/^(POST|PUT|PATCH|DELETE)$/.test(method)) {
      const sent = headers.get('x-csrf-token');
      if (!sent || sent !== cookie(CSRF) || !this.validCsrf.has(sent)) return this.error(403, 'csrf_failed');
    }
    if (method === 'POST' && path === '/auth/register') return this.json(201, { id: 'u1', email: 'a@example.com' });
    if (method === 'POST' && path === '/auth/login') {
      this.session = { alive: true, refreshToken: this.next('rt'), retired: new Set() };
      const issued = this.issueTokens(this.session.refreshToken);
      return this.json(200, { user: { id: 'u1', email: 'a@example.com', roles: [] }, session: { id: 's1', expiresAt: '' }, ...issued });
    }
    if (method === 'POST' && path === '/auth/refresh') return this.refresh(cookie(RT));
    // Everything else needs the access token.
    const access = cookie(AT);
    if (this.forcedMe && path === '/api/me') return this.error(this.forcedMe.status, this.forcedMe.code ?? 'error');
    if (!access) return this.error(401, 'token_missing');
    if (access !== this.access?.token || !this.session) return this.error(401, 'token_invalid');
    if (Date.now() >= this.access.expiresAt) return this.error(401, 'token_expired');
    if (!this.session.alive) return this.error(401, 'session_revoked');
    if (method === 'POST' && path === '/auth/logout-all' && (JSON.parse(body || '{}') as { keepCurrent?: boolean }).keepCurrent) {
      return this.json(204, null);
    }
    if (method === 'POST' && (path === '/auth/logout' || path === '/auth/logout-all')) {
      this.session.alive = false;
      this.jar.delete(AT);
      this.jar.delete(RT);
      this.jar.delete(CSRF);
      return this.json(204, null);
    }
    if (path === '/api/me') return this.json(200, { id: 'u1', email: 'a@example.com' });
    return this.json(200, { ok: true, method });
  }

  private refresh(token: string | undefined): Response {
    this.refreshes++;
    const scripted = this.refreshScript.shift();
    if (scripted) return this.error(scripted.status, scripted.code ?? 'error', scripted.headers);
    const session = this.session;
    if (!token) return this.error(401, 'token_missing');
    if (!session) return this.error(401, 'invalid_refresh_token');
    if (!session.alive) return this.error(401, 'session_revoked');
    const inGrace = session.previous?.token === token && Date.now() - session.previous.rotatedAt < this.graceMs;
    if (token !== session.refreshToken && !inGrace) {
      if (session.retired.has(token)) {
        session.alive = false;
        return this.error(401, 'refresh_token_reused');
      }
      return this.error(401, 'invalid_refresh_token');
    }
    if (inGrace) this.graceUses++;
    session.retired.add(session.refreshToken);
    session.previous = { token: session.refreshToken, rotatedAt: Date.now() };
    session.refreshToken = this.next('rt');
    const issued = this.issueTokens(session.refreshToken);
    return this.json(200, { user: { id: 'u1', email: 'a@example.com', roles: [] }, session: { id: 's1', expiresAt: '' }, ...issued });
  }
}

/** What the simulated browser has: Web Locks unless `locks: false`; BroadcastChannel, `storage` events or no channel. */
export interface BrowserOptions {
  locks?: boolean;
  channel?: boolean | 'storage';
}

/** Several tabs of one browser profile, sharing cookies, storage, channels and (unless disabled) locks. */
export class Browser {
  readonly jar = new CookieJar();
  readonly server = new FakeServer(this.jar);
  readonly storage = new FakeStorage();
  readonly hub = new ChannelHub();
  readonly locks: FakeLocks | null;
  readonly tabs: Tab[] = [];

  /** `channel: 'storage'`: no BroadcastChannel, messages through `storage` events. */
  constructor(options: BrowserOptions = {}) {
    this.locks = options.locks === false ? null : new FakeLocks();
    this.channelMode = options.channel ?? true;
  }
  private readonly channelMode: boolean | 'storage';

  open(count: number, options: Partial<SessionClientOptions> = {}): Tab[] {
    const opened: Tab[] = [];
    for (let index = 0; index < count; index++) {
      const id = `tab${this.tabs.length}`;
      const document = new FakeDocument(this.jar);
      const window = new EventTarget();
      const storage = this.channelMode === 'storage' ? this.storage.view(window) : this.storage;
      const client = createSessionClient({
        fetch: ((input: RequestInfo | URL, init?: RequestInit) => this.server.fetch(input, init)) as typeof fetch,
        locks: this.locks,
        channel:
          this.channelMode === 'storage'
            ? (name) => storageChannel(name, storage, window as unknown as StorageEventTarget)
            : this.channelMode
              ? this.hub.channel
              : null,
        storage,
        document,
        now: () => Date.now(),
        random: () => id,
        ...options,
      });
      const tab = new Tab(id, client, document);
      this.tabs.push(tab);
      opened.push(tab);
    }
    return opened;
  }
}

/** One tab: its client, its document, and what its listeners heard. */
export class Tab {
  readonly ended: string[] = [];
  readonly refreshed: Array<{ by: string; self: boolean }> = [];
  signedIn = 0;

  constructor(
    readonly id: string,
    readonly client: SessionClient,
    readonly document: FakeDocument,
  ) {
    client.onSessionEnded((reason) => this.ended.push(reason));
    client.onRefreshed((info) => this.refreshed.push({ by: info.by, self: info.self }));
    client.onSignedIn(() => this.signedIn++);
  }
}

/** Lets `ms` of fake time pass, running every timer and promise due in it. */
export async function elapse(ms: number): Promise<void> {
  await jest.advanceTimersByTimeAsync(ms);
}

/** Lets fake time pass (and every timer and promise that depends on it run), then returns the result. */
export async function after<T>(promise: Promise<T>, ms = 5_000): Promise<T> {
  let settled = false;
  const watched = promise.finally(() => (settled = true));
  for (let waited = 0; waited < ms && !settled; waited += LATENCY_MS) await jest.advanceTimersByTimeAsync(LATENCY_MS);
  if (!settled) throw new Error(`still pending after ${ms} ms of fake time`);
  return watched;
}
