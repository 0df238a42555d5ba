import { AT, Browser, CSRF, LATENCY_MS, RT, after, elapse } from '../../test/fakes';
import type { BrowserOptions, Tab } from '../../test/fakes';
import { createSessionClient } from './session-client';

beforeEach(() => {
  jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
});
afterEach(() => {
  jest.useRealTimers();
});

async function signedInBrowser(tabs: number, options: BrowserOptions = {}) {
  const browser = new Browser(options);
  const opened = browser.open(tabs);
  const response = await after(opened[0].client.login({ email: 'a@example.com', password: 'correct horse' }));
  expect(response.status).toBe(200);
  await elapse(50); // the signedIn broadcast reaches the other tabs
  return { browser, server: browser.server, tabs: opened };
}

/** A known expiry, or the test fails here. */
function expiry(value: number | null): number {
  if (value === null) throw new Error('no access expiry known');
  return value;
}

const meAll = (tabs: Tab[], perTab = 1) =>
  Promise.all(tabs.flatMap((tab) => Array.from({ length: perTab }, () => tab.client.fetch('/api/me'))));

describe('one refresh across tabs', () => {
  it.each([
    ['the access cookie was dropped at expiry (token_missing)', 0],
    ['the access cookie outlived the token (token_expired)', 120_000],
  ])('4 tabs with 3 concurrent 401s each make exactly one refresh, and every request succeeds: %s', async (_case, slack) => {
    const { server, tabs } = await signedInBrowser(4);
    server.cookieSlackMs = slack;
    // Sign in again so the cookie is issued with the slack under test.
    await after(tabs[0].client.login({ email: 'a@example.com', password: 'x' }));
    jest.setSystemTime(Date.now() + server.accessTtlMs + 1_000);
    const responses = await after(meAll(tabs, 3));
    expect(responses.map((response) => response.status)).toEqual(Array(12).fill(200));
    expect(server.refreshes).toBe(1);
    expect(server.graceUses).toBe(0);
    await elapse(100);
    const refresher = tabs.find((tab) => tab.refreshed.some((info) => info.self));
    if (!refresher) throw new Error('no tab refreshed');
    for (const tab of tabs) {
      expect(tab.refreshed).toEqual([{ by: refresher.id, self: tab === refresher }]);
      expect(tab.ended).toEqual([]);
      expect(tab.client.lastRefresh).toMatchObject({ by: refresher.id, self: tab === refresher });
    }
  });

  it('a tab that decided to refresh before another tab refreshed uses that result instead of refreshing', async () => {
    const { server, tabs } = await signedInBrowser(2);
    jest.setSystemTime(Date.now() + server.accessTtlMs + 1_000);
    // Tab 1's request is answered 401 while tab 0 refreshes; it then waits for the lock.
    const first = tabs[0].client.refresh();
    const second = tabs[1].client.fetch('/api/me');
    expect(await after(first)).toBe(true);
    expect((await after(second)).status).toBe(200);
    expect(server.refreshes).toBe(1);
  });

  it('without Web Locks, the BroadcastChannel election still makes one refresh for concurrent 401s', async () => {
    const { server, tabs } = await signedInBrowser(4, { locks: false });
    jest.setSystemTime(Date.now() + server.accessTtlMs + 1_000);
    const responses = await after(meAll(tabs, 2));
    expect(responses.map((response) => response.status)).toEqual(Array(8).fill(200));
    expect(server.refreshes).toBe(1);
    await elapse(100);
    for (const tab of tabs) expect(tab.refreshed).toHaveLength(1);
  });

  it('without Web Locks nor BroadcastChannel, the election over storage events still makes one refresh', async () => {
    const { browser, server, tabs } = await signedInBrowser(4, { locks: false, channel: 'storage' });
    expect(tabs.map((tab) => tab.signedIn)).toEqual([1, 1, 1, 1]); // the login reached every tab
    jest.setSystemTime(Date.now() + server.accessTtlMs + 1_000);
    const responses = await after(meAll(tabs, 2));
    expect(responses.map((response) => response.status)).toEqual(Array(8).fill(200));
    expect(server.refreshes).toBe(1);
    await elapse(100);
    for (const tab of tabs) expect(tab.refreshed).toHaveLength(1);
    // The messages went through storage (no token among them), not through a BroadcastChannel.
    expect(browser.hub.sent).toEqual([]);
    expect(browser.storage.writes.some((write) => write.key === 'tessera:message')).toBe(true);
    const written = JSON.stringify(browser.storage.writes);
    for (const secret of server.issued) expect(written).not.toContain(secret);
  });

  it('without Web Locks, a tab whose claim arrives late loses to the tab already refreshing', async () => {
    const { server, tabs } = await signedInBrowser(2, { locks: false });
    jest.setSystemTime(Date.now() + server.accessTtlMs + 1_000);
    // tab1 starts first and becomes the active refresher; tab0 (smaller id) claims after that.
    const late = tabs[1].client.refresh();
    await jest.advanceTimersByTimeAsync(152); // tab1's claim window (150 ms) is over; its request is in flight
    expect(server.count('POST', '/auth/refresh')).toBe(1);
    const early = tabs[0].client.refresh();
    expect(await after(Promise.all([late, early]))).toEqual([true, true]);
    expect(server.refreshes).toBe(1);
  });

  it('without Web Locks, the losers end with the winner when its refresh says the session is over', async () => {
    const { server, tabs } = await signedInBrowser(3, { locks: false });
    server.refreshScript.push({ status: 401, code: 'session_expired' });
    expect(await after(Promise.all(tabs.map((tab) => tab.client.refresh())))).toEqual([false, false, false]);
    expect(server.refreshes).toBe(1);
    for (const tab of tabs) expect(tab.ended).toEqual(['session_expired']);
  });

  it('proactive refresh: 4 started tabs make one refresh per expiry, ahead of it, and nobody sees a 401', async () => {
    const { server, tabs } = await signedInBrowser(4);
    for (const tab of tabs) tab.client.start();
    // Each token is refreshed once, 20 s before its expiry (a third of its 60 s lifetime):
    // running to each token's expiry sees exactly one more refresh request.
    for (let round = 1; round <= 5; round++) {
      const expiresAt = expiry(tabs[round % 4].client.accessExpiresAt);
      await jest.advanceTimersByTimeAsync(expiresAt - Date.now() - 1);
      expect(server.refreshes).toBe(round);
      const next = expiry(tabs[0].client.accessExpiresAt);
      expect(next - expiresAt).toBe(40_000 + LATENCY_MS); // refreshed 20 s ahead, the answer took LATENCY_MS
      expect(tabs.map((tab) => tab.client.accessExpiresAt)).toEqual(Array(4).fill(next));
      const responses = await after(meAll(tabs));
      expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200]);
    }
    expect(server.count('GET', '/api/me')).toBe(20); // no retry was needed
    expect(server.graceUses).toBe(0);
    for (const tab of tabs) {
      expect(tab.ended).toEqual([]);
      expect(tab.refreshed).toHaveLength(5);
      tab.client.stop();
    }
    // Stopped tabs keep no timer: time passes and nobody refreshes.
    await jest.advanceTimersByTimeAsync(server.accessTtlMs * 3);
    expect(server.refreshes).toBe(5);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('refreshes min(30 s, a third of the lifetime) ahead of expiry by default, refreshAheadMs when given', async () => {
    const { server, tabs } = await signedInBrowser(1);
    tabs[0].client.start();
    const expiresAt = expiry(tabs[0].client.accessExpiresAt);
    expect(expiresAt).toBeGreaterThan(Date.now() + server.accessTtlMs - 100);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + server.accessTtlMs);
    await jest.advanceTimersByTimeAsync(expiresAt - 20_000 - 1 - Date.now());
    expect(server.refreshes).toBe(0);
    await jest.advanceTimersByTimeAsync(1 + LATENCY_MS * 3);
    expect(server.refreshes).toBe(1);
    tabs[0].client.stop();

    const [other] = new Browser().open(1, { refreshAheadMs: 5_000 });
    await after(other.client.login({ email: 'a@example.com', password: 'x' }));
    other.client.start();
    await jest.advanceTimersByTimeAsync(expiry(other.client.accessExpiresAt) - 5_000 - 1 - Date.now());
    expect(other.refreshed).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1 + LATENCY_MS * 3);
    expect(other.refreshed).toHaveLength(1);
    other.client.stop();
  });

  it('a hidden tab does not refresh; when it becomes visible past due it refreshes once', async () => {
    const { server, tabs } = await signedInBrowser(2);
    for (const tab of tabs) {
      tab.document.visibilityState = 'hidden';
      tab.client.start();
    }
    await jest.advanceTimersByTimeAsync(server.accessTtlMs * 2);
    expect(server.refreshes).toBe(0);
    tabs[1].document.setVisibility('visible');
    await elapse(100);
    expect(server.refreshes).toBe(1);
    expect((await after(tabs[1].client.fetch('/api/me'))).status).toBe(200);
    for (const tab of tabs) tab.client.stop();
    expect(tabs[1].document.listenerCount).toBe(0);
  });
});

describe('the end of a session', () => {
  it('a refresh answered refresh_token_reused ends the session in every tab with that code', async () => {
    const { server, tabs } = await signedInBrowser(3);
    for (const tab of tabs) tab.client.start();
    jest.setSystemTime(Date.now() + server.accessTtlMs + 1_000);
    server.refreshScript.push({ status: 401, code: 'refresh_token_reused' });
    const responses = await after(meAll(tabs));
    // The original 401 comes back: no retry after a failed refresh.
    expect(responses.map((response) => response.status)).toEqual([401, 401, 401]);
    expect(server.refreshes).toBe(1);
    await elapse(100);
    for (const tab of tabs) {
      expect(tab.ended).toEqual(['refresh_token_reused']);
      expect(tab.client.accessExpiresAt).toBeNull();
      expect(tab.client.lastRefresh).toBeNull();
    }
    // Nothing is scheduled for an ended session.
    await jest.advanceTimersByTimeAsync(server.accessTtlMs * 2);
    expect(server.refreshes).toBe(1);
    for (const tab of tabs) tab.client.stop();
  });

  it.each(['invalid_refresh_token', 'session_expired', 'session_revoked', 'token_missing'])('refresh answered 401 %s: ended with that code everywhere', async (code) => {
    const { server, tabs } = await signedInBrowser(2);
    server.refreshScript.push({ status: 401, code });
    expect(await after(tabs[0].client.refresh())).toBe(false);
    await elapse(50);
    expect(tabs.map((tab) => tab.ended)).toEqual([[code], [code]]);
  });

  it('503 store_unavailable or a network error does not end the session; a started tab retries with backoff', async () => {
    const { server, tabs } = await signedInBrowser(2);
    const expiresAt = tabs[0].client.accessExpiresAt;
    server.refreshScript.push({ status: 503, code: 'store_unavailable', headers: { 'retry-after': '1' } });
    expect(await after(tabs[0].client.refresh())).toBe(false);
    expect(tabs[0].client.accessExpiresAt).toBe(expiresAt);
    expect(tabs[0].client.lastRefresh).not.toBeNull();

    const failing = jest.spyOn(server, 'fetch').mockRejectedValueOnce(new TypeError('Failed to fetch'));
    expect(await after(tabs[1].client.refresh())).toBe(false);
    failing.mockRestore();
    expect(tabs.map((tab) => tab.ended)).toEqual([[], []]);

    // A started tab past due, with the store down twice: it keeps trying, then succeeds.
    jest.setSystemTime(Date.now() + server.accessTtlMs + 1_000);
    server.refreshScript.push({ status: 503, code: 'store_unavailable' }, { status: 503, code: 'store_unavailable' });
    const before = server.refreshes;
    tabs[0].client.start();
    // Backoff after this tab's earlier failure: 2 s, then 4 s.
    await elapse(1_900);
    expect(server.refreshes).toBe(before + 1);
    await elapse(4_300);
    expect(server.refreshes).toBe(before + 3);
    expect(tabs[0].refreshed.at(-1)).toEqual({ by: 'tab0', self: true });
    expect(tabs.map((tab) => tab.ended)).toEqual([[], []]);
    tabs[0].client.stop();
  });

  it('logout: POST /auth/logout, then every tab hears ended(logout) once', async () => {
    const { server, tabs } = await signedInBrowser(3);
    await after(tabs[1].client.logout());
    expect(server.count('POST', '/auth/logout')).toBe(1);
    await elapse(50);
    expect(tabs.map((tab) => tab.ended)).toEqual([['logout'], ['logout'], ['logout']]);
    // The push for the same end (the socket) does not make a tab hear it twice.
    tabs[0].client.sessionEnded('session_revoked');
    await elapse(50);
    expect(tabs.map((tab) => tab.ended)).toEqual([['logout'], ['logout'], ['logout']]);
  });

  it('logoutAll ends every tab with logout_all; with keepCurrent it ends none', async () => {
    const { server, tabs } = await signedInBrowser(2);
    await after(tabs[0].client.logoutAll({ keepCurrent: true }));
    await elapse(50);
    expect(tabs.map((tab) => tab.ended)).toEqual([[], []]);
    await after(tabs[0].client.logoutAll());
    expect(server.count('POST', '/auth/logout-all')).toBe(2);
    await elapse(50);
    expect(tabs.map((tab) => tab.ended)).toEqual([['logout_all'], ['logout_all']]);
  });

  it('logout that the server refuses (503) throws and ends nothing', async () => {
    const { tabs } = await signedInBrowser(1);
    const client = createSessionClient({
      fetch: async () => new Response(JSON.stringify({ code: 'store_unavailable' }), { status: 503 }),
      locks: null,
      channel: null,
      storage: null,
      document: null,
    });
    const ended: string[] = [];
    client.onSessionEnded((reason) => ended.push(reason));
    await expect(client.logout()).rejects.toThrow('HTTP 503');
    expect(ended).toEqual([]);
    expect(tabs[0].ended).toEqual([]);
  });

  it('a request answered 401 session_revoked ends the session in every tab', async () => {
    const { server, tabs } = await signedInBrowser(2);
    server.revoke();
    expect((await after(tabs[0].client.fetch('/api/me'))).status).toBe(401);
    await elapse(50);
    expect(tabs.map((tab) => tab.ended)).toEqual([['session_revoked'], ['session_revoked']]);
    expect(server.refreshes).toBe(0);
  });

  it('a login in one tab reaches the others (onSignedIn) and a new session starts clean after an end', async () => {
    const { tabs } = await signedInBrowser(2);
    expect(tabs.map((tab) => tab.signedIn)).toEqual([1, 1]);
    await after(tabs[0].client.logout());
    await after(tabs[1].client.login({ email: 'a@example.com', password: 'x' }));
    await elapse(50);
    expect(tabs.map((tab) => tab.signedIn)).toEqual([2, 2]);
    expect(tabs[0].client.accessExpiresAt).not.toBeNull();
    tabs[0].client.sessionEnded('session_revoked');
    await elapse(50);
    expect(tabs.map((tab) => tab.ended)).toEqual([
      ['logout', 'session_revoked'],
      ['logout', 'session_revoked'],
    ]);
  });
});

describe('messages between tabs', () => {
  it('an end that arrives after a newer login is ignored (messages of two tabs may cross)', async () => {
    const browser = new Browser();
    const [tab] = browser.open(1);
    const channel = browser.hub.channel('tessera');
    const state = (generation: number, refreshedAt: number | null) => ({ accessExpiresAt: refreshedAt && refreshedAt + 60_000, refreshedAt, by: refreshedAt && 'tab9', generation });
    channel.postMessage({ type: 'signedIn', state: state(7, Date.now()) });
    channel.postMessage({ type: 'ended', reason: 'logout', state: state(6, null) });
    await elapse(10);
    expect(tab.signedIn).toBe(1);
    expect(tab.ended).toEqual([]);
    expect(tab.client.lastRefresh).toMatchObject({ by: 'tab9', self: false });
    channel.postMessage({ type: 'ended', reason: 'logout', state: state(8, null) });
    await elapse(10);
    expect(tab.ended).toEqual(['logout']);
    expect(tab.client.lastRefresh).toBeNull();
  });
});

describe('requests', () => {
  it('sends X-CSRF-Token on POST/PUT/PATCH/DELETE only, fetching a token once when there is none', async () => {
    const browser = new Browser();
    const [tab] = browser.open(1);
    const server = browser.server;
    const unsafe = await after(
      Promise.all(['POST', 'PUT', 'PATCH', 'DELETE'].map((method) => tab.client.fetch('/api/things', { method, body: '{}' }))),
    );
    // No session: the CSRF check passes (403 would mean it failed), the auth check does not.
    expect(unsafe.map((response) => response.status)).toEqual([401, 401, 401, 401]);
    expect(server.count('GET', '/auth/csrf')).toBe(1);
    await after(Promise.all(['GET', 'HEAD', 'OPTIONS'].map((method) => tab.client.fetch('/api/things', { method }))));
    const csrf = browser.jar.get(CSRF);
    expect(server.requests.filter((request) => request.path === '/api/things').map((request) => [request.method, request.csrf])).toEqual([
      ['POST', csrf],
      ['PUT', csrf],
      ['PATCH', csrf],
      ['DELETE', csrf],
      ['GET', null],
      ['HEAD', null],
      ['OPTIONS', null],
    ]);
    expect(server.requests.every((request) => request.credentials === 'same-origin')).toBe(true);
  });

  it('login and register fetch a CSRF token first when there is none, and send it', async () => {
    const browser = new Browser();
    const [tab] = browser.open(1);
    expect((await after(tab.client.register({ email: 'a@example.com', password: 'x' }))).status).toBe(201);
    expect((await after(tab.client.login({ email: 'a@example.com', password: 'x' }))).status).toBe(200);
    expect(browser.server.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'GET /auth/csrf',
      'POST /auth/register',
      'POST /auth/login',
    ]);
    expect(browser.server.requests.slice(1).every((request) => request.csrf !== null)).toBe(true);
  });

  it('a stale CSRF token (403 csrf_failed) is replaced once and the request retried once', async () => {
    const { browser, server, tabs } = await signedInBrowser(1);
    browser.jar.set(CSRF, 'stale-token', false);
    const csrfFetches = server.count('GET', '/auth/csrf');
    const response = await after(tabs[0].client.fetch('/api/things', { method: 'POST', body: '{}' }));
    expect(response.status).toBe(200);
    expect(server.count('GET', '/auth/csrf')).toBe(csrfFetches + 1);
    expect(server.count('POST', '/api/things')).toBe(2);

    // A token that the server keeps refusing: one retry, then the 403 comes back.
    jest.spyOn(server, 'fetch').mockImplementation(async (input) =>
      String(input).endsWith('/auth/csrf')
        ? new Response(JSON.stringify({ csrfToken: 'x' }), { status: 200 })
        : new Response(JSON.stringify({ code: 'csrf_failed' }), { status: 403 }),
    );
    expect((await after(tabs[0].client.fetch('/api/things', { method: 'POST', body: '{}' }))).status).toBe(403);
    expect(jest.mocked(server.fetch).mock.calls.map(([input]) => String(input))).toEqual(['/api/things', '/auth/csrf', '/api/things']);
  });

  it('retries once only: a second 401 token_expired is returned, no loop', async () => {
    const { server, tabs } = await signedInBrowser(1);
    server.forcedMe = { status: 401, code: 'token_expired' };
    const response = await after(tabs[0].client.fetch('/api/me'));
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: 'token_expired' });
    expect(server.count('GET', '/api/me')).toBe(2);
    expect(server.refreshes).toBe(1);
    expect(tabs[0].ended).toEqual([]);
  });

  it('never retries a request whose body is a stream', async () => {
    const { server, tabs } = await signedInBrowser(1);
    jest.setSystemTime(Date.now() + server.accessTtlMs + 1_000);
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{}'));
        controller.close();
      },
    });
    const response = await after(tabs[0].client.fetch('/api/upload', { method: 'POST', body, duplex: 'half' } as RequestInit));
    expect(response.status).toBe(401);
    expect(server.count('POST', '/api/upload')).toBe(1);
    // The refresh still happened, so the caller's own retry will work.
    expect(server.refreshes).toBe(1);
    expect((await after(tabs[0].client.fetch('/api/upload', { method: 'POST', body: '{}' }))).status).toBe(200);
  });

  it('retries a Request object with its body intact', async () => {
    const { server, tabs } = await signedInBrowser(1);
    jest.setSystemTime(Date.now() + server.accessTtlMs + 1_000);
    const seen: string[] = [];
    const send = server.fetch;
    server.fetch = async (input, init) => {
      if (input instanceof Request) seen.push(await input.clone().text());
      return send(input, init);
    };
    const response = await after(tabs[0].client.fetch(new Request('http://page.invalid/api/things', { method: 'PUT', body: 'payload' })));
    expect(response.status).toBe(200);
    expect(seen).toEqual(['payload', 'payload']);
  });

  it('sends neither the CSRF token nor cookies to another origin, and does not retry there', async () => {
    const { server, tabs } = await signedInBrowser(1);
    const calls: Array<[string, RequestInit | undefined]> = [];
    const send = server.fetch;
    server.fetch = async (input, init) => {
      calls.push([String(input), init]);
      return String(input).startsWith('https://elsewhere.example')
        ? new Response(JSON.stringify({ code: 'token_expired' }), { status: 401 })
        : send(input, init);
    };
    const init = { method: 'POST', body: '{}' };
    expect((await after(tabs[0].client.fetch('https://elsewhere.example/hook', init))).status).toBe(401);
    expect(calls).toEqual([['https://elsewhere.example/hook', init]]);
    expect(server.refreshes).toBe(0);
  });

  it("uses credentials 'include' and its own base URL for an API on another origin", async () => {
    const calls: Array<[string, RequestCredentials | undefined]> = [];
    const client = createSessionClient({
      baseUrl: 'https://api.example.com/',
      fetch: async (input, init) => {
        calls.push([String(input), init?.credentials]);
        return new Response(JSON.stringify({ csrfToken: 'from-body' }), { status: 200 });
      },
      locks: null,
      channel: null,
      storage: null,
      document: null,
    });
    await client.fetch('/api/things', { method: 'POST' });
    expect(calls).toEqual([
      ['https://api.example.com/auth/csrf', 'include'],
      ['https://api.example.com/api/things', 'include'],
    ]);
  });
});

describe('what is stored', () => {
  it('no token ever reaches storage: only { accessExpiresAt, refreshedAt, by, generation } under <name>:session', async () => {
    const { browser, server, tabs } = await signedInBrowser(3);
    for (const tab of tabs) tab.client.start();
    await jest.advanceTimersByTimeAsync(server.accessTtlMs * 3);
    jest.setSystemTime(Date.now() + server.accessTtlMs * 2);
    await after(meAll(tabs));
    await after(tabs[2].client.logout());
    for (const tab of tabs) tab.client.stop();

    expect(server.refreshes).toBeGreaterThanOrEqual(4);
    const secrets = [...server.issued];
    expect(secrets.filter((value) => value.startsWith('at-')).length).toBeGreaterThanOrEqual(5);
    const everything = JSON.stringify(browser.storage.writes);
    for (const secret of secrets) expect(everything).not.toContain(secret);
    for (const name of [AT, RT, CSRF]) expect(everything).not.toContain(name);
    expect(new Set(browser.storage.writes.map((write) => write.key))).toEqual(new Set(['tessera:session']));
    for (const write of browser.storage.writes) {
      expect(Object.keys(JSON.parse(write.value)).sort()).toEqual(['accessExpiresAt', 'by', 'generation', 'refreshedAt']);
    }
    // Nor do the messages between tabs carry one.
    const messages = JSON.stringify(browser.hub.sent);
    for (const secret of secrets) expect(messages).not.toContain(secret);
  });
});

describe('attachSocket', () => {
  class FakeSocket {
    connected = true;
    connects = 0;
    readonly handlers = new Map<string, Set<(...args: unknown[]) => void>>();
    on(event: string, handler: (...args: unknown[]) => void) {
      const handlers = this.handlers.get(event) ?? new Set();
      this.handlers.set(event, handlers.add(handler));
      return this;
    }
    off(event: string, handler: (...args: unknown[]) => void) {
      this.handlers.get(event)?.delete(handler);
      return this;
    }
    connect() {
      this.connects++;
      this.connected = true;
      return this;
    }
    emit(event: string, ...args: unknown[]) {
      for (const handler of this.handlers.get(event) ?? []) handler(...args);
    }
    /** What the server does at the access token's exp: push, then close. */
    endWith(code: string) {
      this.emit('session.ended', { code });
      this.connected = false;
      this.emit('disconnect', 'io server disconnect');
    }
  }

  it('token_expired after another tab refreshed: reconnects once closed, with no refresh of its own', async () => {
    const { server, tabs } = await signedInBrowser(2);
    for (const tab of tabs) tab.client.start();
    await jest.advanceTimersByTimeAsync(server.accessTtlMs - 10_000); // the proactive refresh happened
    expect(server.refreshes).toBe(1);
    const socket = new FakeSocket();
    const detach = tabs[1].client.attachSocket(socket);
    socket.endWith('token_expired');
    await elapse(50);
    expect(socket.connects).toBe(1);
    expect(server.refreshes).toBe(1);
    detach();
    expect([...socket.handlers.values()].every((handlers) => handlers.size === 0)).toBe(true);
    for (const tab of tabs) tab.client.stop();
  });

  it('token_expired when the token is due: one refresh, then reconnects', async () => {
    const { server, tabs } = await signedInBrowser(2);
    jest.setSystemTime(Date.now() + server.accessTtlMs);
    const sockets = [new FakeSocket(), new FakeSocket()];
    tabs.forEach((tab, index) => tab.client.attachSocket(sockets[index]));
    for (const socket of sockets) socket.endWith('token_expired');
    await elapse(200);
    expect(server.refreshes).toBe(1);
    expect(sockets.map((socket) => socket.connects)).toEqual([1, 1]);
  });

  it('any other code ends the session in every tab, and does not reconnect', async () => {
    const { server, tabs } = await signedInBrowser(2);
    const socket = new FakeSocket();
    tabs[0].client.attachSocket(socket);
    socket.endWith('session_revoked');
    await elapse(50);
    expect(tabs.map((tab) => tab.ended)).toEqual([['session_revoked'], ['session_revoked']]);
    expect(socket.connects).toBe(0);
    expect(server.refreshes).toBe(0);
  });

  it('accepts a socket.io-client socket by its type', () => {
    // Compile-time check of the structural type against the real client (not connected).
    type IoSocket = import('socket.io-client').Socket;
    const accepts = (client: { attachSocket(socket: IoSocket): () => void }) => client;
    expect(accepts(createSessionClient({ locks: null, channel: null, storage: null, document: null }))).toBeDefined();
  });
});
