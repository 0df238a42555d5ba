import type { TestingModule } from '@nestjs/testing';
import type { CookieOptions, Request, Response } from 'express';
import { FakeClock } from '../../testing';
import { SESSION_REQUEST_KEY } from '../constants';
import type { AuthenticatedSession } from '../interfaces/authenticated.interface';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options';
import type { ResolvedSessionOptions } from '../options/session-options';
import { CsrfService } from './csrf.service';
import { SessionService } from './session.service';
import type { IssuedSession } from './session.service';
import { compileSessionModule } from '../../../test/support/session-module';
import type { TestSessionOptions } from '../../../test/support/session-module';

const jwtSecret = 'csrf-spec-jwt-secret-0123456789-abcdefghij';
const sessionSecret = 'csrf-spec-session-secret-0123456789-abcdef';
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;

interface CookieCall {
  name: string;
  value?: string;
  options: CookieOptions;
}

/** The two methods of an express Response that CsrfService uses, recording their calls. */
function recordingResponse(): { response: Response; set: CookieCall[]; cleared: CookieCall[] } {
  const set: CookieCall[] = [];
  const cleared: CookieCall[] = [];
  const response = {
    cookie: (name: string, value: string, options: CookieOptions) => set.push({ name, value, options }),
    clearCookie: (name: string, options: CookieOptions) => cleared.push({ name, options }),
  } as unknown as Response;
  return { response, set, cleared };
}

/** A request with the given Cookie header and, optionally, the session SessionGuard would have attached. */
function requestWith(cookie: string | undefined, session?: Partial<AuthenticatedSession>): Request {
  const request = { headers: cookie === undefined ? {} : { cookie } } as Request & Record<string, unknown>;
  if (session) request[SESSION_REQUEST_KEY] = session;
  return request;
}

/** Replaces the character at `index` with a different base64url character. */
function flip(text: string, index: number): string {
  const replacement = text[index] === 'A' ? 'B' : 'A';
  return `${text.slice(0, index)}${replacement}${text.slice(index + 1)}`;
}

describe('CsrfService', () => {
  let moduleRef: TestingModule;
  let clock: FakeClock;
  let csrf: CsrfService;
  let sessions: SessionService;

  async function boot(options: Partial<TestSessionOptions> = {}): Promise<void> {
    ({ moduleRef, clock } = await compileSessionModule({ jwtSecret, sessionSecret, ...options }));
    csrf = moduleRef.get(CsrfService);
    sessions = moduleRef.get(SessionService);
  }

  const csrfCookieName = (): string => moduleRef.get<ResolvedSessionOptions>(RESOLVED_SESSION_OPTIONS).cookies.names.csrf;
  const mint = (sessionId: string | undefined): string => csrf.issue(recordingResponse().response, sessionId);

  afterEach(() => moduleRef.close());

  describe('issue and isValid', () => {
    let a: IssuedSession;
    let b: IssuedSession;

    beforeEach(async () => {
      await boot();
      a = await sessions.create({ id: 'user-a' });
      b = await sessions.create({ id: 'user-b' });
    });

    it('sets the readable __Host- cookie (Secure, SameSite=Lax, Path=/) with the token it returns', () => {
      const { response, set, cleared } = recordingResponse();
      const token = csrf.issue(response, a.session.id);
      expect(token).toMatch(TOKEN_SHAPE);
      expect(set).toEqual([
        { name: '__Host-tessera-csrf', value: token, options: { httpOnly: false, secure: true, sameSite: 'lax', path: '/' } },
      ]);
      expect(cleared).toEqual([]);
      expect(csrfCookieName()).toBe('__Host-tessera-csrf');
    });

    it('mints a new random token every time', () => {
      const minted = new Set(Array.from({ length: 50 }, () => mint(a.session.id)));
      expect(minted.size).toBe(50);
      expect(new Set([...minted].map((token) => token.split('.')[0])).size).toBe(50);
    });

    it('round-trips: a bound token verifies for its session, an unbound one for no session', () => {
      expect(csrf.isValid(mint(a.session.id), a.session.id)).toBe(true);
      expect(csrf.isValid(mint(undefined), undefined)).toBe(true);
    });

    it('binds a token to its session: invalid for another session and when unbound', () => {
      const token = mint(a.session.id);
      expect(csrf.isValid(token, b.session.id)).toBe(false);
      expect(csrf.isValid(token, undefined)).toBe(false);
      expect(csrf.isValid(token, '')).toBe(false);
      expect(csrf.isValid(mint(b.session.id), a.session.id)).toBe(false);
    });

    it('does not let an unbound token (minted before login) pass for a session', () => {
      const unbound = mint(undefined);
      expect(csrf.isValid(unbound, a.session.id)).toBe(false);
      expect(csrf.isValid(unbound, b.session.id)).toBe(false);
    });

    it.each([0, 10, 21])('refuses a token whose nonce was changed at %i', (index) => {
      const token = mint(a.session.id);
      const [nonce, mac] = token.split('.');
      const tampered = `${flip(nonce, index)}.${mac}`;
      expect(tampered).toMatch(TOKEN_SHAPE);
      expect(csrf.isValid(tampered, a.session.id)).toBe(false);
    });

    it.each([0, 20, 42])('refuses a token whose MAC was changed at %i', (index) => {
      const token = mint(a.session.id);
      const [nonce, mac] = token.split('.');
      const tampered = `${nonce}.${flip(mac, index)}`;
      expect(tampered).toMatch(TOKEN_SHAPE);
      expect(csrf.isValid(tampered, a.session.id)).toBe(false);
    });

    it('refuses a MAC taken from another token', () => {
      const [nonce] = mint(a.session.id).split('.');
      const [, otherMac] = mint(a.session.id).split('.');
      expect(csrf.isValid(`${nonce}.${otherMac}`, a.session.id)).toBe(false);
    });

    it('refuses a token signed with another session secret', async () => {
      const { moduleRef: foreign } = await compileSessionModule({
        jwtSecret,
        sessionSecret: 'another-csrf-session-secret-0123456789-ab',
        clock,
      });
      try {
        const foreignToken = foreign.get(CsrfService).issue(recordingResponse().response, a.session.id);
        expect(foreignToken).toMatch(TOKEN_SHAPE);
        expect(csrf.isValid(foreignToken, a.session.id)).toBe(false);
      } finally {
        await foreign.close();
      }
    });

    it('refuses malformed tokens', () => {
      const token = mint(a.session.id);
      const [nonce, mac] = token.split('.');
      const malformed = [
        '',
        '.',
        nonce,
        mac,
        `${nonce}.`,
        `.${mac}`,
        `${nonce}${mac}`,
        `${nonce}.${mac}.`,
        `${token}.${mac}`,
        `${nonce}.${mac}=`,
        `${nonce}A.${mac}`,
        `${nonce.slice(1)}.${mac}`,
        `${nonce}.${mac.slice(1)}`,
        `${nonce}.${mac}A`,
        ` ${token}`,
        `${token} `,
        `${token}\n`,
        `${nonce}:${mac}`,
        token.replace(/[A-Za-z]/, (c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())),
      ];
      for (const candidate of malformed) expect([candidate, csrf.isValid(candidate, a.session.id)]).toEqual([candidate, false]);
      // The untouched token still verifies, so the refusals above are about the shape.
      expect(csrf.isValid(token, a.session.id)).toBe(true);
    });

    it('clear() expires the cookie with the attributes it was set with', () => {
      const { response, set, cleared } = recordingResponse();
      csrf.clear(response);
      expect(set).toEqual([]);
      expect(cleared).toEqual([
        { name: '__Host-tessera-csrf', options: { httpOnly: false, secure: true, sameSite: 'lax', path: '/' } },
      ]);
    });
  });

  describe('cookie names', () => {
    it('drops the __Host- prefix and Secure with cookies.secure: false', async () => {
      await boot({ cookies: { secure: false } });
      const { response, set, cleared } = recordingResponse();
      const token = csrf.issue(response, undefined);
      csrf.clear(response);
      expect(set).toEqual([
        { name: 'tessera-csrf', value: token, options: { httpOnly: false, secure: false, sameSite: 'lax', path: '/' } },
      ]);
      expect(cleared).toEqual([{ name: 'tessera-csrf', options: { httpOnly: false, secure: false, sameSite: 'lax', path: '/' } }]);
    });

    it('uses csrf.cookieName and csrf.headerName', async () => {
      await boot({ csrf: { cookieName: 'my-csrf', headerName: 'X-My-Csrf' } });
      expect(csrfCookieName()).toBe('__Host-my-csrf');
      const request = {
        headers: { 'x-my-csrf': 'from-header', 'x-csrf-token': 'wrong-header', cookie: '__Host-tessera-csrf=wrong; __Host-my-csrf=from-cookie' },
      } as unknown as Request;
      expect(csrf.presented(request)).toEqual({ header: 'from-header', cookie: 'from-cookie' });
    });
  });

  describe('presented', () => {
    beforeEach(() => boot());

    it('reads the X-CSRF-Token header and the __Host- cookie', () => {
      const request = {
        headers: { 'x-csrf-token': 'h', cookie: 'theme=dark; tessera-csrf=unprefixed; __Host-tessera-csrf=c' },
      } as unknown as Request;
      expect(csrf.presented(request)).toEqual({ header: 'h', cookie: 'c' });
    });

    it('gives undefined for an absent header or cookie, and for a header sent as an array', () => {
      expect(csrf.presented({ headers: {} } as Request)).toEqual({ header: undefined, cookie: undefined });
      expect(csrf.presented({ headers: { 'x-csrf-token': ['a', 'b'] } } as unknown as Request).header).toBeUndefined();
    });
  });

  describe('bindingFor', () => {
    let a: IssuedSession;
    let b: IssuedSession;
    let c: IssuedSession;

    beforeEach(async () => {
      await boot();
      [a, b, c] = [
        await sessions.create({ id: 'user-a' }),
        await sessions.create({ id: 'user-b' }),
        await sessions.create({ id: 'user-c' }),
      ];
    });

    const cookies = (access?: string, refresh?: string): string =>
      [access && `__Host-tessera-at=${access}`, refresh && `__Secure-tessera-rt=${refresh}`].filter(Boolean).join('; ');

    it('prefers the session SessionGuard authenticated over both cookies', () => {
      const request = requestWith(cookies(b.accessToken, c.refreshToken), { id: a.session.id, transport: 'cookie' });
      expect(csrf.bindingFor(request)).toBe(a.session.id);
    });

    it('then the session of a valid access cookie, alone or with the refresh cookie of the same session', () => {
      expect(csrf.bindingFor(requestWith(cookies(b.accessToken, b.refreshToken)))).toBe(b.session.id);
      expect(csrf.bindingFor(requestWith(cookies(b.accessToken)))).toBe(b.session.id);
    });

    // Issue 12, finding 4: the access cookie used to win, so a refresh acting on a tossed
    // refresh cookie passed CSRF with the victim's token.
    it('finding 4: refuses an access cookie and a refresh cookie of two sessions (cookie_conflict)', () => {
      expect(() => csrf.bindingFor(requestWith(cookies(b.accessToken, c.refreshToken)))).toThrow(
        expect.objectContaining({ code: 'cookie_conflict' }),
      );
    });

    it('finding 4: refuses a session cookie sent twice (cookie_conflict)', () => {
      const twice = [
        `__Secure-tessera-rt=${c.refreshToken}; ${cookies(b.accessToken, b.refreshToken)}`,
        `${cookies(b.accessToken)}; __Host-tessera-at=${b.accessToken}`,
      ];
      for (const header of twice) {
        expect(() => csrf.bindingFor(requestWith(header))).toThrow(expect.objectContaining({ code: 'cookie_conflict' }));
      }
      expect(() => csrf.presented(requestWith('__Host-tessera-csrf=a; __Host-tessera-csrf=b'))).toThrow(
        expect.objectContaining({ code: 'cookie_conflict' }),
      );
    });

    it('then the session named by the refresh cookie when the access cookie is invalid', () => {
      const [header, payload] = b.accessToken.split('.');
      expect(csrf.bindingFor(requestWith(cookies(`${header}.${payload}.AAAA`, c.refreshToken)))).toBe(c.session.id);
      expect(csrf.bindingFor(requestWith(cookies('garbage', c.refreshToken)))).toBe(c.session.id);
    });

    it('then the session named by the refresh cookie when the access cookie has expired', () => {
      clock.advance(11 * 60_000);
      expect(csrf.bindingFor(requestWith(cookies(b.accessToken, c.refreshToken)))).toBe(c.session.id);
      expect(csrf.bindingFor(requestWith(cookies(b.accessToken)))).toBeUndefined();
    });

    it('then the session named by the refresh cookie alone', () => {
      expect(csrf.bindingFor(requestWith(cookies(undefined, c.refreshToken)))).toBe(c.session.id);
    });

    it('else no session', () => {
      expect(csrf.bindingFor(requestWith(undefined))).toBeUndefined();
      expect(csrf.bindingFor(requestWith('theme=dark'))).toBeUndefined();
      expect(csrf.bindingFor(requestWith(cookies(undefined, 'not-a-refresh-token')))).toBeUndefined();
      expect(csrf.bindingFor(requestWith(cookies(undefined, 'short.0.x')))).toBeUndefined();
    });

    it('reads only the prefixed cookie names when secure', () => {
      const unprefixed = `tessera-at=${b.accessToken}; tessera-rt=${c.refreshToken}`;
      expect(csrf.bindingFor(requestWith(unprefixed))).toBeUndefined();
    });

    it('reads the unprefixed names with cookies.secure: false', async () => {
      await moduleRef.close();
      await boot({ cookies: { secure: false } });
      const d = await sessions.create({ id: 'user-d' });
      const e = await sessions.create({ id: 'user-e' });
      expect(csrf.bindingFor(requestWith(`tessera-at=${d.accessToken}; tessera-rt=${d.refreshToken}`))).toBe(d.session.id);
      expect(csrf.bindingFor(requestWith(`tessera-rt=${e.refreshToken}`))).toBe(e.session.id);
      expect(csrf.bindingFor(requestWith(`__Host-tessera-at=${d.accessToken}`))).toBeUndefined();
    });

    it('yields a binding under which a token issued for that session verifies', () => {
      const token = mint(c.session.id);
      expect(csrf.isValid(token, csrf.bindingFor(requestWith(cookies(undefined, c.refreshToken))))).toBe(true);
      expect(csrf.isValid(token, csrf.bindingFor(requestWith(cookies(b.accessToken))))).toBe(false);
    });
  });
});
