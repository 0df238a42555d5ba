import type {
  ChannelLike,
  ChannelMessageEvent,
  LockManagerLike,
  RefreshInfo,
  SessionClient,
  SessionClientOptions,
  SessionEndReason,
  SocketLike,
  StorageLike,
} from './client.types';
import { storageChannel } from './storage-channel';

/** What the tabs of an origin share in storage: never a token (OWASP HTML5 Security Cheat Sheet, "Local Storage"). */
interface SharedState {
  /** Expiry of the current access token (epoch ms); null when unknown. */
  accessExpiresAt: number | null;
  /** When the current access token was issued (login or refresh); null when signed out. */
  refreshedAt: number | null;
  /** The tab that got it. */
  by: string | null;
  /** Bumped on every change: a tab that decided to refresh at generation g skips the request if it moved. */
  generation: number;
}

/** Messages between the tabs. `claim` and `failed` serve only the election used without Web Locks. */
type Message =
  | { type: 'refreshed' | 'signedIn'; state: SharedState }
  | { type: 'ended'; reason: SessionEndReason; state: SharedState }
  | { type: 'claim'; by: string; generation: number; active: boolean }
  | { type: 'failed'; generation: number };

type Outcome = 'alive' | 'ended' | 'failed';

/** This tab's claim in the election used without Web Locks. */
interface Claim {
  generation: number;
  active: boolean;
  lost: boolean;
}

const UNSAFE_METHOD = /^(POST|PUT|PATCH|DELETE)$/;
const CSRF_COOKIES = ['__Host-tessera-csrf', 'tessera-csrf'];
/** A refresh that hangs must not hold the cross-tab lock for ever. */
const REFRESH_TIMEOUT_MS = 20_000;
/**
 * The lock holder keeps the lock this long after publishing a new token's state, so that the
 * write reaches the other tabs (storage and channel are delivered asynchronously between
 * renderer processes) before the next tab gets the lock and compares generations.
 */
const SETTLE_MS = 50;
/** Without Web Locks: how long a tab collects rival claims before it refreshes. */
const CLAIM_MS = 150;
/** Without Web Locks: how long a tab that lost the election waits for the winner's result. */
const RESULT_TIMEOUT_MS = 10_000;
const MAX_BACKOFF_MS = 60_000;
const MAX_TIMER_MS = 2 ** 31 - 1;
const EMPTY: SharedState = { accessExpiresAt: null, refreshedAt: null, by: null, generation: 0 };

/** Message of the error `logout()` and `logoutAll()` throw when the server did not end the session. */
const LOGOUT_FAILED = 'Logout failed: the server answered HTTP ';

const isRequest = (input: unknown): input is Request => typeof Request === 'function' && input instanceof Request;

/** Calls every listener; one that throws is reported asynchronously and stops nothing. */
function fire<T>(listeners: Set<(value: T) => void>, value: T): void {
  for (const listener of [...listeners]) {
    try {
      listener(value);
    } catch (error) {
      setTimeout(() => {
        throw error;
      });
    }
  }
}

/** Starts `task` and calls `done` once it settled, never before the caller stored the promise. */
function single<T>(task: () => Promise<T>, done: () => void): Promise<T> {
  const promise = Promise.resolve().then(task);
  void promise.then(done, done);
  return promise;
}

function subscribe<T>(listeners: Set<T>, listener: T): () => void {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}

/** The server's `code` from an error body, read from a clone so the caller still gets an unread response. */
async function codeOf(response: Response): Promise<string | undefined> {
  try {
    const body = (await response.clone().json()) as { code?: unknown };
    return typeof body?.code === 'string' ? body.code : undefined;
  } catch {
    return undefined;
  }
}

async function jsonOf(response: Response): Promise<{ expiresIn?: unknown; csrfToken?: unknown }> {
  try {
    return ((await response.clone().json()) as object) ?? {};
  } catch {
    return {};
  }
}

function isState(value: unknown): value is SharedState {
  return typeof value === 'object' && value !== null && typeof (value as SharedState).generation === 'number';
}

function defaultStorage(): StorageLike | null {
  try {
    // Reading `localStorage` throws where storage is blocked (sandboxed frames, some privacy modes).
    return typeof localStorage === 'object' ? localStorage : null;
  } catch {
    return null;
  }
}

function randomId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(6)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * Creates the session client of this tab. It listens to the other tabs at once; call
 * `start()` to refresh ahead of expiry and follow the page's visibility.
 */
export function createSessionClient(options: SessionClientOptions = {}): SessionClient {
  const name = options.name ?? 'tessera';
  const baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
  const authPath = options.authPath ?? '/auth';
  const csrfHeader = options.csrfHeaderName ?? 'X-CSRF-Token';
  const now = options.now ?? Date.now;
  const send = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const locks =
    options.locks !== undefined
      ? options.locks
      : ((typeof navigator === 'object' && (navigator.locks as unknown as LockManagerLike | undefined)) || null);
  const storage = options.storage !== undefined ? options.storage : defaultStorage();
  const doc = options.document !== undefined ? options.document : typeof document === 'object' ? document : null;
  const openChannel =
    options.channel !== undefined
      ? options.channel
      : typeof BroadcastChannel === 'function'
        ? (channelName: string) => new BroadcastChannel(channelName)
        : storage && typeof addEventListener === 'function'
          ? (channelName: string) => storageChannel(channelName, storage, globalThis)
          : null;
  const tabId = (options.random ?? randomId)();
  const stateKey = `${name}:session`;
  // Cookies go to the API: the page's origin sends them with 'same-origin'; another origin needs 'include'.
  const page = typeof location === 'object' ? location.href : 'http://page.invalid/';
  const apiOrigin = new URL(baseUrl || '/', page).origin;
  const credentials: RequestCredentials = apiOrigin === new URL(page).origin ? 'same-origin' : 'include';

  const endedListeners = new Set<(reason: SessionEndReason) => void>();
  const refreshedListeners = new Set<(info: RefreshInfo) => void>();
  const signedInListeners = new Set<() => void>();
  /** Re-checked on every message: the fallback election's waits. */
  const waiters = new Set<() => void>();

  let known: SharedState = EMPTY;
  let channel: ChannelLike | null | undefined;
  let started = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  /** True once the end was reported here, until the next login or refresh: a tab hears an end once. */
  let over = false;
  /** The CSRF token from the last response body, for an API on another origin whose cookie the page cannot read. */
  let memoryCsrf: string | undefined;
  let csrfFlight: Promise<string | undefined> | undefined;
  let refreshFlight: Promise<Outcome> | undefined;
  let claim: Claim | undefined;
  let failedGeneration = -1;
  /** The server's Retry-After of the last failed refresh (ms). */
  let retryAfterMs = 0;

  // ---- shared state -------------------------------------------------------------------------

  /** The newest state this tab knows of: storage, or a message that arrived before storage caught up. */
  function read(): SharedState {
    let stored: unknown;
    try {
      stored = JSON.parse(storage?.getItem(stateKey) ?? 'null');
    } catch {
      stored = null;
    }
    return isState(stored) && stored.generation >= known.generation ? stored : known;
  }

  function learn(state: unknown): void {
    if (isState(state) && state.generation > known.generation) known = state;
  }

  function update(change: Omit<SharedState, 'generation'>): SharedState {
    const next = { ...change, generation: read().generation + 1 };
    known = next;
    try {
      storage?.setItem(stateKey, JSON.stringify(next));
    } catch {
      // Storage full or blocked: this tab goes on with what it knows, the others with their messages.
    }
    return next;
  }

  function infoOf(state: SharedState): RefreshInfo | null {
    return state.refreshedAt === null || state.by === null
      ? null
      : { at: state.refreshedAt, by: state.by, self: state.by === tabId, accessExpiresAt: state.accessExpiresAt };
  }

  // ---- messages -----------------------------------------------------------------------------

  function open(): ChannelLike | null {
    if (channel === undefined) {
      channel = openChannel ? openChannel(name) : null;
      channel?.addEventListener('message', onMessage);
    }
    return channel;
  }

  function post(message: Message): void {
    try {
      open()?.postMessage(message);
    } catch {
      // A closed channel: the other tabs still read the shared state when they need it.
    }
  }

  function onMessage(event: ChannelMessageEvent): void {
    const message = event.data as Message | null;
    if (typeof message !== 'object' || message === null) return;
    if ('state' in message) {
      learn(message.state);
      // Messages of different tabs may arrive out of order: one older than what this tab knows
      // (a refresh before an end, an end before a new login) must not undo it.
      if (!isState(message.state) || message.state.generation < read().generation) return;
    }
    if (message.type === 'refreshed' || message.type === 'signedIn') {
      over = false;
      failures = 0;
      const info = infoOf(message.state);
      if (message.type === 'signedIn') fire(signedInListeners, undefined);
      else if (info) fire(refreshedListeners, info);
      schedule();
    } else if (message.type === 'ended') {
      end(message.reason, false);
    } else if (message.type === 'claim') {
      onClaim(message);
    } else if (message.type === 'failed') {
      failedGeneration = message.generation;
    }
    for (const waiter of [...waiters]) waiter();
  }

  /** Resolves when `done()` holds (checked on every message) or after `ms`. */
  function wait(ms: number, done: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timeout);
        waiters.delete(check);
        resolve();
      };
      const check = () => {
        if (done()) finish();
      };
      const timeout = setTimeout(finish, ms);
      waiters.add(check);
      check();
    });
  }

  // ---- ending -------------------------------------------------------------------------------

  function end(reason: SessionEndReason, announce: boolean): void {
    clearTimeout(timer);
    timer = undefined;
    memoryCsrf = undefined;
    if (announce) post({ type: 'ended', reason, state: update({ accessExpiresAt: null, refreshedAt: null, by: null }) });
    if (!over) {
      over = true;
      fire(endedListeners, reason);
    }
  }

  function signedIn(expiresIn: unknown, csrfToken: unknown, event: 'signedIn' | 'refreshed'): SharedState {
    const at = now();
    const state = update({
      accessExpiresAt: typeof expiresIn === 'number' && expiresIn > 0 ? at + expiresIn * 1000 : null,
      refreshedAt: at,
      by: tabId,
    });
    if (typeof csrfToken === 'string') memoryCsrf = csrfToken;
    over = false;
    failures = 0;
    post({ type: event, state });
    return state;
  }

  // ---- CSRF ---------------------------------------------------------------------------------

  function readCookie(cookieName: string): string | undefined {
    for (const part of (doc?.cookie ?? '').split(';')) {
      const at = part.indexOf('=');
      if (at > 0 && part.slice(0, at).trim() === cookieName) {
        try {
          return decodeURIComponent(part.slice(at + 1).trim());
        } catch {
          return part.slice(at + 1).trim();
        }
      }
    }
    return undefined;
  }

  /** The CSRF token to send: the cookie (always the newest, shared by all tabs), else the last one the server gave us. */
  function csrfToken(): string | undefined {
    for (const cookieName of options.csrfCookieName ? [options.csrfCookieName] : CSRF_COOKIES) {
      const value = readCookie(cookieName);
      if (value) return value;
    }
    return memoryCsrf;
  }

  /** `GET <authPath>/csrf`, one at a time in this tab; it sets the cookie and returns the token. */
  function fetchCsrf(): Promise<string | undefined> {
    return (csrfFlight ??= single(
      async () => {
        try {
          const response = await send(`${baseUrl}${authPath}/csrf`, { credentials, headers: { accept: 'application/json' } });
          const { csrfToken: token } = await jsonOf(response);
          if (response.ok && typeof token === 'string') memoryCsrf = token;
        } catch {
          // Offline: the unsafe request goes without a token and the server refuses it (403).
        }
        return csrfToken();
      },
      () => (csrfFlight = undefined),
    ));
  }

  // ---- refresh ------------------------------------------------------------------------------

  /**
   * One refresh across the tabs: `seen` is the generation at which this tab decided that the
   * token needs one. Whoever holds the lock (or wins the election) refreshes only if nobody
   * did since; the others take that result.
   */
  function refreshFrom(seen: number): Promise<Outcome> {
    return (refreshFlight ??= single(
      async () => {
        let outcome: Outcome;
        try {
          outcome = locks
            ? await locks.request(`${name}:refresh`, () => guarded(seen, true))
            : open()
              ? await elect(seen)
              : await guarded(seen, false);
        } catch {
          // The lock request was refused (e.g. the page is being unloaded): nothing happened.
          outcome = 'failed';
        }
        if (outcome === 'alive') schedule();
        else if (outcome === 'failed') schedule(Math.max(retryAfterMs, Math.min(MAX_BACKOFF_MS, 1000 * 2 ** failures++)));
        return outcome;
      },
      () => (refreshFlight = undefined),
    ));
  }

  /** Runs under the lock (or after winning the election). */
  async function guarded(seen: number, settle: boolean): Promise<Outcome> {
    const state = read();
    if (state.generation !== seen) return state.refreshedAt === null ? 'ended' : 'alive';
    const outcome = await requestRefresh(false);
    if (outcome === 'alive' && settle) await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    return outcome;
  }

  async function requestRefresh(csrfRetried: boolean): Promise<Outcome> {
    retryAfterMs = 0;
    const abort = new AbortController();
    const timeout = setTimeout(() => abort.abort(), REFRESH_TIMEOUT_MS);
    let response: Response;
    try {
      const token = csrfToken() ?? (await fetchCsrf());
      response = await send(`${baseUrl}${authPath}/refresh`, {
        method: 'POST',
        credentials,
        headers: token ? { [csrfHeader]: token, accept: 'application/json' } : { accept: 'application/json' },
        signal: abort.signal,
      });
    } catch {
      // Network error or timeout: transient; the session may well be alive.
      return 'failed';
    } finally {
      clearTimeout(timeout);
    }
    if (response.ok) {
      const body = await jsonOf(response);
      const state = signedIn(body.expiresIn, body.csrfToken, 'refreshed');
      const info = infoOf(state);
      if (info) fire(refreshedListeners, info);
      return 'alive';
    }
    const code = await codeOf(response);
    if (response.status === 403 && code === 'csrf_failed' && !csrfRetried) {
      await fetchCsrf();
      return requestRefresh(true);
    }
    if (response.status === 401) {
      end(code ?? 'unauthorized', true);
      return 'ended';
    }
    // 503 store_unavailable, 429, 5xx: never end a session on a failure that may pass.
    retryAfterMs = Math.min(MAX_BACKOFF_MS, Number(response.headers.get('retry-after')) * 1000 || 0);
    return 'failed';
  }

  /**
   * Without Web Locks: announce a claim, collect rivals' claims for `CLAIM_MS`; an active
   * refresher beats any claim, then the smallest tab id wins. The losers wait (bounded) for
   * the winner's `refreshed` / `ended` / `failed`, and refresh themselves only if it never
   * comes (the winner's tab closed): the server's reuse grace window absorbs that rare double.
   */
  async function elect(seen: number): Promise<Outcome> {
    const mine: Claim = { generation: seen, active: false, lost: false };
    claim = mine;
    post({ type: 'claim', by: tabId, generation: seen, active: false });
    const moved = () => read().generation !== seen;
    await wait(CLAIM_MS, () => mine.lost || moved());
    if (!mine.lost && !moved()) {
      mine.active = true;
      post({ type: 'claim', by: tabId, generation: seen, active: true });
      try {
        const outcome = await guarded(seen, false);
        if (outcome === 'failed') post({ type: 'failed', generation: seen });
        return outcome;
      } finally {
        claim = undefined;
      }
    }
    claim = undefined;
    await wait(RESULT_TIMEOUT_MS, () => moved() || failedGeneration === seen);
    if (!moved() && failedGeneration === seen) return 'failed';
    return guarded(seen, false);
  }

  function onClaim(rival: { by: string; generation: number; active: boolean }): void {
    if (!claim || claim.generation !== rival.generation || rival.by === tabId) return;
    if (claim.active || (!rival.active && tabId < rival.by)) {
      // A rival that started claiming after our claim reached it does not know of us yet.
      post({ type: 'claim', by: tabId, generation: claim.generation, active: claim.active });
    } else {
      claim.lost = true;
    }
  }

  // ---- proactive refresh --------------------------------------------------------------------

  function aheadMs(state: SharedState): number {
    if (options.refreshAheadMs !== undefined) return options.refreshAheadMs;
    const lifetime = state.accessExpiresAt !== null && state.refreshedAt !== null ? state.accessExpiresAt - state.refreshedAt : 0;
    return Math.min(30_000, Math.max(0, lifetime / 3));
  }

  /** Arms the timer of the next proactive refresh (or of a retry after `retryMs`), while the page is visible. */
  function schedule(retryMs?: number): void {
    clearTimeout(timer);
    timer = undefined;
    const state = read();
    if (!started || (doc && doc.visibilityState !== 'visible') || state.refreshedAt === null || state.accessExpiresAt === null) return;
    const delay = retryMs ?? state.accessExpiresAt - aheadMs(state) - now();
    timer = setTimeout(() => proactive(retryMs !== undefined), Math.min(MAX_TIMER_MS, Math.max(0, delay)));
  }

  function proactive(retry: boolean): void {
    timer = undefined;
    const state = read();
    if (state.refreshedAt === null || state.accessExpiresAt === null) return;
    // Another tab may have refreshed since the timer was armed.
    if (!retry && now() < state.accessExpiresAt - aheadMs(state)) return schedule();
    void refreshFrom(state.generation);
  }

  function onVisibility(): void {
    if (doc && doc.visibilityState !== 'visible') {
      clearTimeout(timer);
      timer = undefined;
    } else {
      // Refreshes now when the token became due while the tab was hidden.
      proactive(false);
    }
  }

  // ---- requests -----------------------------------------------------------------------------

  async function clientFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    const target = typeof input === 'string' && input.startsWith('/') ? `${baseUrl}${input}` : input;
    // Another origin's request gets neither our CSRF token nor our cookies nor our retries
    // (OWASP CSRF Prevention Cheat Sheet: never send the token to a third party).
    if (new URL(isRequest(target) ? target.url : String(target), page).origin !== apiOrigin) return send(target, init);
    const method = (init.method ?? (isRequest(target) ? target.method : 'GET')).toUpperCase();
    const unsafe = UNSAFE_METHOD.test(method);
    // A stream is read once by the first attempt: such a request is never retried.
    const replayable = !(typeof ReadableStream === 'function' && init.body instanceof ReadableStream);
    const spare = isRequest(target) && replayable ? target.clone() : undefined;
    let refreshed = false;
    let csrfRetried = false;
    for (let attempt = 0; ; attempt++) {
      const seen = read().generation;
      const headers = new Headers(init.headers ?? (isRequest(target) ? target.headers : undefined));
      const addCsrf = unsafe && !headers.has(csrfHeader);
      if (addCsrf) {
        const token = csrfToken() ?? (await fetchCsrf());
        if (token) headers.set(csrfHeader, token);
      }
      const response = await send(attempt > 0 && spare ? spare.clone() : target, {
        ...init,
        headers,
        credentials: init.credentials ?? credentials,
      });
      if (response.status === 401) {
        const code = await codeOf(response);
        // An expired access cookie is dropped by the browser: the server then sees no token at all.
        const expired = code === 'token_expired' || (code === 'token_missing' && read().refreshedAt !== null);
        if (expired && !refreshed) {
          refreshed = true;
          if ((await refreshFrom(seen)) === 'alive' && replayable) continue;
        } else if (code === 'session_revoked' || code === 'session_expired') {
          end(code, true);
        }
        return response;
      }
      if (response.status === 403 && addCsrf && replayable && !csrfRetried && (await codeOf(response)) === 'csrf_failed') {
        // A token from before a login or refresh in another tab: fetch the current one and try once more.
        csrfRetried = true;
        await fetchCsrf();
        continue;
      }
      return response;
    }
  }

  function authPost(path: string, body?: unknown): Promise<Response> {
    return clientFetch(`${baseUrl}${authPath}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
  }

  async function endBy(response: Response, reason: SessionEndReason): Promise<void> {
    // 401: the session was already over, which is what the caller wanted.
    if (!response.ok && response.status !== 401) throw new Error(`${LOGOUT_FAILED}${response.status}`);
    end(reason, true);
  }

  const client: SessionClient = {
    tabId,
    fetch: clientFetch,
    async login(body) {
      const response = await authPost('/login', body);
      if (response.ok) {
        const data = await jsonOf(response);
        signedIn(data.expiresIn, data.csrfToken, 'signedIn');
        fire(signedInListeners, undefined);
        schedule();
      }
      return response;
    },
    register: (body) => authPost('/register', body),
    async logout() {
      await endBy(await authPost('/logout'), 'logout');
    },
    async logoutAll(logoutOptions) {
      const keepCurrent = logoutOptions?.keepCurrent === true;
      const response = await authPost('/logout-all', { keepCurrent });
      if (keepCurrent) {
        if (!response.ok) throw new Error(`${LOGOUT_FAILED}${response.status}`);
      } else {
        await endBy(response, 'logout_all');
      }
    },
    refresh: async () => (await refreshFrom(read().generation)) === 'alive',
    sessionEnded: (reason) => end(reason, true),
    attachSocket(socket: SocketLike) {
      // After `session.ended { code: 'token_expired' }` the server closes the socket; it is opened
      // again once it is closed and the cookie holds a fresh access token.
      let waiting = false;
      let fresh = false;
      const reconnect = () => {
        if (!waiting || !fresh || socket.connected === true) return;
        waiting = fresh = false;
        socket.connect?.();
      };
      const onFresh = () => {
        fresh = true;
        reconnect();
      };
      const onEnded = (payload?: { code?: unknown }) => {
        const code = typeof payload?.code === 'string' ? payload.code : 'session_revoked';
        if (code !== 'token_expired') return end(code, true);
        waiting = true;
        fresh = false;
        const state = read();
        // The socket was authenticated with an older token: if a tab already refreshed, no new refresh.
        if (state.accessExpiresAt !== null && state.accessExpiresAt - aheadMs(state) > now()) return onFresh();
        void refreshFrom(state.generation).then((outcome) => outcome === 'alive' && onFresh());
      };
      socket.on('session.ended', onEnded);
      socket.on('disconnect', reconnect);
      const offRefreshed = subscribe(refreshedListeners, () => waiting && onFresh());
      const offSignedIn = subscribe(signedInListeners, () => waiting && onFresh());
      return () => {
        socket.off?.('session.ended', onEnded);
        socket.off?.('disconnect', reconnect);
        offRefreshed();
        offSignedIn();
      };
    },
    onSessionEnded: (listener) => subscribe(endedListeners, listener),
    onRefreshed: (listener) => subscribe(refreshedListeners, listener),
    onSignedIn: (listener) => subscribe(signedInListeners, listener),
    get lastRefresh() {
      return infoOf(read());
    },
    get accessExpiresAt() {
      return read().accessExpiresAt;
    },
    start() {
      if (started) return;
      started = true;
      open();
      doc?.addEventListener('visibilitychange', onVisibility);
      onVisibility();
    },
    stop() {
      started = false;
      clearTimeout(timer);
      timer = undefined;
      doc?.removeEventListener('visibilitychange', onVisibility);
      channel?.removeEventListener('message', onMessage);
      channel?.close();
      channel = undefined;
    },
  };
  // Listen to the other tabs from the start: onSessionEnded listeners must hear a logout elsewhere.
  open();
  return client;
}
