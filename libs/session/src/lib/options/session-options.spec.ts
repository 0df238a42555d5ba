import { Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { createHash } from 'node:crypto';
import { FakeClock } from '../../testing';
import { SessionConfigError } from '../exceptions/session-config.error';
import { systemClock } from '../interfaces/clock.interface';
import { SessionClock } from '../interfaces/clock.interface';
import type { SessionModuleOptions } from '../interfaces/session-module-options.interface';
import { SessionStore } from '../interfaces/session-store.interface';
import { SessionService } from '../services/session.service';
import { SessionModule } from '../session.module';
import { InMemorySessionStore } from '../stores/in-memory-session.store';
import { RESOLVED_SESSION_OPTIONS, resolveSessionOptions } from './session-options';
import type { ResolvedSessionOptions } from './session-options';

const jwtSecret = 'options-spec-jwt-secret-0123456789abcdef';
const sessionSecret = 'options-spec-session-secret-0123456789abcd';

const MINUTE = 60_000;
const DAY = 86_400_000;

function valid(overrides: Partial<Record<keyof SessionModuleOptions, unknown>> = {}): SessionModuleOptions {
  return { jwtSecret, sessionSecret, ...overrides } as SessionModuleOptions;
}

/** Runs `resolve` and returns the SessionConfigError it throws; fails the test if it throws nothing else. */
function configError(options: SessionModuleOptions): SessionConfigError {
  try {
    resolveSessionOptions(options);
  } catch (error) {
    expect(error).toBeInstanceOf(SessionConfigError);
    return error as SessionConfigError;
  }
  throw new Error('expected resolveSessionOptions to throw');
}

describe('resolveSessionOptions', () => {
  describe('secrets', () => {
    it.each(['jwtSecret', 'sessionSecret'] as const)('refuses a %s of 31 bytes and names the option', (option) => {
      const error = configError(valid({ [option]: 'x'.repeat(31) }));
      expect(error.message).toContain(`SessionModule option "${option}" must be at least 32 bytes (got 31)`);
      expect(error.name).toBe('SessionConfigError');
    });

    it('counts bytes, not characters (16 two-byte characters are 32 bytes)', () => {
      expect(() => resolveSessionOptions(valid({ jwtSecret: 'é'.repeat(16) }))).not.toThrow();
      expect(configError(valid({ jwtSecret: 'é'.repeat(15) })).message).toContain('"jwtSecret" must be at least 32 bytes (got 30)');
    });

    it('accepts a Buffer of exactly 32 bytes and refuses one of 31', () => {
      expect(resolveSessionOptions(valid({ sessionSecret: Buffer.alloc(32, 7) })).sessionKey.export()).toEqual(
        Buffer.alloc(32, 7),
      );
      expect(configError(valid({ sessionSecret: Buffer.alloc(31, 7) })).message).toContain(
        '"sessionSecret" must be at least 32 bytes (got 31)',
      );
    });

    it.each([
      ['jwtSecret', undefined],
      ['jwtSecret', ''],
      ['jwtSecret', null],
      ['sessionSecret', undefined],
      ['sessionSecret', ''],
    ] as const)('refuses a missing %s (%p)', (option, value) => {
      expect(configError(valid({ [option]: value })).message).toBe(`SessionModule option "${option}" is required.`);
    });

    it('refuses equal secrets, also when one is a string and the other the same bytes', () => {
      const message =
        'SessionModule option "sessionSecret" must differ from every HS256 access-token key ("jwtSecret", "keys"): use independent random keys.';
      expect(configError(valid({ sessionSecret: jwtSecret })).message).toBe(message);
      expect(configError(valid({ sessionSecret: Buffer.from(jwtSecret, 'utf8') })).message).toBe(message);
    });

    it('never puts a secret in the error message', () => {
      const secret = 'short-secret-value';
      expect(configError(valid({ jwtSecret: secret })).message).not.toContain(secret);
    });
  });

  describe('durations', () => {
    const options = ['accessTokenTtl', 'idleTimeout', 'absoluteTimeout', 'clockSkew'] as const;
    const bad: unknown[] = [-1, '-5m', '10 minutes', '1.5h', 'abc', '10', 1.5, Number.NaN, '0s'];

    for (const option of options) {
      it.each(bad)(`refuses ${option} = %p and names the option`, (value) => {
        expect(configError(valid({ [option]: value })).message).toBe(
          `SessionModule option "${option}" must be a positive duration such as 500ms, 30s, 15m, 12h or 7d (got ${JSON.stringify(value)}).`,
        );
      });
    }

    it.each(['accessTokenTtl', 'idleTimeout', 'absoluteTimeout'] as const)('refuses a zero %s', (option) => {
      expect(configError(valid({ [option]: 0 })).message).toContain(`SessionModule option "${option}" must be a positive duration`);
    });

    it('accepts clockSkew 0 (no leeway)', () => {
      expect(resolveSessionOptions(valid({ clockSkew: 0 })).clockSkewMs).toBe(0);
    });

    it('refuses an idleTimeout longer than absoluteTimeout', () => {
      expect(configError(valid({ idleTimeout: '31d' })).message).toBe(
        'SessionModule option "idleTimeout" must not exceed "absoluteTimeout".',
      );
      expect(configError(valid({ absoluteTimeout: '1d' })).message).toBe(
        'SessionModule option "idleTimeout" must not exceed "absoluteTimeout".',
      );
    });

    it('accepts an idleTimeout equal to absoluteTimeout', () => {
      const resolved = resolveSessionOptions(valid({ idleTimeout: '2d', absoluteTimeout: 2 * DAY }));
      expect(resolved.idleTimeoutMs).toBe(2 * DAY);
      expect(resolved.absoluteTimeoutMs).toBe(2 * DAY);
    });

    it('refuses an accessTokenTtl longer than idleTimeout', () => {
      expect(configError(valid({ accessTokenTtl: '2h', idleTimeout: '1h' })).message).toBe(
        'SessionModule option "accessTokenTtl" must not exceed "idleTimeout".',
      );
    });

    it('takes durations as strings or milliseconds', () => {
      const resolved = resolveSessionOptions(
        valid({ accessTokenTtl: '15m', idleTimeout: 12 * 3_600_000, absoluteTimeout: '2d', clockSkew: '500ms' }),
      );
      expect(resolved.accessTokenTtlMs).toBe(15 * MINUTE);
      expect(resolved.idleTimeoutMs).toBe(12 * 3_600_000);
      expect(resolved.absoluteTimeoutMs).toBe(2 * DAY);
      expect(resolved.clockSkewMs).toBe(500);
    });
  });

  describe('algorithm', () => {
    it.each(['RS256', 'none', 'HS512', 'hs256', ''])('refuses algorithm %p', (algorithm) => {
      expect(configError(valid({ algorithm })).message).toBe(
        `SessionModule option "algorithm" must be "HS256" (got ${JSON.stringify(algorithm)}).`,
      );
    });

    it('accepts HS256 explicitly', () => {
      expect(resolveSessionOptions(valid({ algorithm: 'HS256' })).algorithm).toBe('HS256');
    });
  });

  describe('other values', () => {
    it('refuses a store that lacks part of the SessionStore contract', () => {
      const { revokeByUser: _omitted, ...partial } = Object.fromEntries(
        ['create', 'findById', 'rotateRefresh', 'revoke', 'listByUser', 'revokeByUser'].map((name) => [name, () => undefined]),
      );
      expect(configError(valid({ store: partial })).message).toContain('SessionModule option "store" must implement SessionStore');
    });

    it('refuses a refresh cookie path that does not start with "/"', () => {
      expect(configError(valid({ cookies: { refreshTokenPath: 'auth' } })).message).toBe(
        'SessionModule option "cookies.refreshTokenPath" must start with "/".',
      );
    });

    it.each([
      ['issuer', { issuer: '  ' }],
      ['audience', { audience: '' }],
      ['cookies.accessTokenName', { cookies: { accessTokenName: ' ' } }],
      ['cookies.refreshTokenName', { cookies: { refreshTokenName: '' } }],
      ['jwtKeyId', { jwtKeyId: '   ' }],
    ])('refuses an empty %s', (option, overrides) => {
      expect(configError(valid(overrides)).message).toBe(`SessionModule option "${option}" must be a non-empty string.`);
    });
  });

  describe('a valid configuration', () => {
    it('resolves with the documented defaults', () => {
      const resolved = resolveSessionOptions(valid());
      expect(resolved).toEqual({
        store: expect.any(InMemorySessionStore),
        algorithm: 'HS256',
        jwtKey: expect.anything(),
        jwtKeyId: createHash('sha256').update(jwtSecret).digest('base64url').slice(0, 12),
        sessionKey: expect.anything(),
        issuer: 'tessera',
        audience: 'tessera',
        accessTokenTtlMs: 10 * MINUTE,
        idleTimeoutMs: 7 * DAY,
        absoluteTimeoutMs: 30 * DAY,
        clockSkewMs: 5_000,
        cookies: { secure: true, accessTokenName: 'tessera-at', refreshTokenName: 'tessera-rt', refreshTokenPath: '/auth' },
        clock: systemClock,
      });
      expect(resolved.jwtKey.type).toBe('secret');
      expect(resolved.jwtKey.export()).toEqual(Buffer.from(jwtSecret));
      expect(resolved.sessionKey.export()).toEqual(Buffer.from(sessionSecret));
    });

    it('derives a kid that does not reveal the key, and keeps an explicit one', () => {
      const derived = resolveSessionOptions(valid()).jwtKeyId;
      expect(derived).toMatch(/^[A-Za-z0-9_-]{12}$/);
      expect(jwtSecret).not.toContain(derived);
      expect(resolveSessionOptions(valid({ jwtKeyId: 'key-2030' })).jwtKeyId).toBe('key-2030');
    });

    it('uses the store, clock and cookie settings it is given', () => {
      const store = new InMemorySessionStore();
      const clock = new FakeClock();
      const resolved = resolveSessionOptions(
        valid({ store, clock, issuer: 'iss', audience: 'aud', cookies: { secure: false, refreshTokenPath: '/api/auth' } }),
      );
      expect(resolved.store).toBe(store);
      expect(resolved.clock).toBe(clock);
      expect(resolved.issuer).toBe('iss');
      expect(resolved.audience).toBe('aud');
      expect(resolved.cookies).toEqual({
        secure: false,
        accessTokenName: 'tessera-at',
        refreshTokenName: 'tessera-rt',
        refreshTokenPath: '/api/auth',
      });
    });
  });
});

describe('SessionModule boot', () => {
  it('compiles with a valid configuration and exposes the resolved options, store and clock', async () => {
    const clock = new FakeClock();
    const moduleRef = await Test.createTestingModule({
      imports: [SessionModule.forRoot({ jwtSecret, sessionSecret, clock })],
    }).compile();
    const resolved = moduleRef.get<ResolvedSessionOptions>(RESOLVED_SESSION_OPTIONS);
    expect(resolved.accessTokenTtlMs).toBe(10 * MINUTE);
    expect(moduleRef.get(SessionClock)).toBe(clock);
    expect(moduleRef.get(SessionStore)).toBeInstanceOf(InMemorySessionStore);
    expect(moduleRef.get(SessionStore)).toBe(resolved.store);
    await moduleRef.close();
  });

  it.each([
    [{ jwtSecret: 'too-short' }, 'SessionModule option "jwtSecret" must be at least 32 bytes (got 9)'],
    [{ sessionSecret: jwtSecret }, 'SessionModule options "jwtSecret" and "sessionSecret" must differ'],
    [{ accessTokenTtl: '-1m' }, 'SessionModule option "accessTokenTtl" must be a positive duration'],
    [{ algorithm: 'none' }, 'SessionModule option "algorithm" must be "HS256" (got "none")'],
    [{ idleTimeout: '60d' }, 'SessionModule option "idleTimeout" must not exceed "absoluteTimeout".'],
  ])('does not boot with %p', async (overrides, message) => {
    const options = { jwtSecret, sessionSecret, clock: new FakeClock(), ...overrides } as SessionModuleOptions;
    const compiling = Test.createTestingModule({ imports: [SessionModule.forRoot(options)] }).compile();
    await expect(compiling).rejects.toBeInstanceOf(SessionConfigError);
    await expect(compiling).rejects.toThrow(message);
  });

  describe('forRootAsync', () => {
    const APP_CONFIG = Symbol('AppConfig');

    interface AppConfig {
      jwt: string;
      session: string;
      ttl: string;
    }

    function configModule(config: AppConfig) {
      @Module({ providers: [{ provide: APP_CONFIG, useValue: config }], exports: [APP_CONFIG] })
      class ConfigModule {}
      return ConfigModule;
    }

    it('builds the options with useFactory from injected configuration', async () => {
      const clock = new FakeClock();
      const moduleRef = await Test.createTestingModule({
        imports: [
          SessionModule.forRootAsync({
            imports: [configModule({ jwt: jwtSecret, session: sessionSecret, ttl: '2m' })],
            inject: [APP_CONFIG],
            useFactory: (config: AppConfig) => ({
              jwtSecret: config.jwt,
              sessionSecret: config.session,
              accessTokenTtl: config.ttl,
              clock,
            }),
          }),
        ],
      }).compile();
      const resolved = moduleRef.get<ResolvedSessionOptions>(RESOLVED_SESSION_OPTIONS);
      expect(resolved.accessTokenTtlMs).toBe(2 * MINUTE);
      expect(resolved.idleTimeoutMs).toBe(7 * DAY);
      expect(resolved.clock).toBe(clock);
      const issued = await moduleRef.get(SessionService).create({ id: 'user-async' });
      expect(issued.accessTokenExpiresAt).toEqual(new Date(clock.now().getTime() + 2 * MINUTE));
      await moduleRef.close();
    });

    it('accepts an async factory', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          SessionModule.forRootAsync({
            useFactory: async () => ({ jwtSecret, sessionSecret, clock: new FakeClock(), issuer: 'from-async' }),
          }),
        ],
      }).compile();
      expect(moduleRef.get<ResolvedSessionOptions>(RESOLVED_SESSION_OPTIONS).issuer).toBe('from-async');
      await moduleRef.close();
    });

    it('does not boot when the factory returns a bad configuration', async () => {
      const compiling = Test.createTestingModule({
        imports: [
          SessionModule.forRootAsync({
            imports: [configModule({ jwt: jwtSecret, session: 'short', ttl: '10m' })],
            inject: [APP_CONFIG],
            useFactory: (config: AppConfig) => ({ jwtSecret: config.jwt, sessionSecret: config.session }),
          }),
        ],
      }).compile();
      await expect(compiling).rejects.toThrow('SessionModule option "sessionSecret" must be at least 32 bytes (got 5)');
    });
  });

  describe('isGlobal', () => {
    @Injectable()
    class Consumer {
      constructor(@Inject(SessionService) readonly sessions: SessionService) {}
    }

    @Module({ providers: [Consumer], exports: [Consumer] })
    class FeatureModule {}

    it('makes the services injectable in feature modules that do not import SessionModule', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [SessionModule.forRoot({ jwtSecret, sessionSecret, clock: new FakeClock(), isGlobal: true }), FeatureModule],
      }).compile();
      expect(moduleRef.get(Consumer).sessions).toBeInstanceOf(SessionService);
      await moduleRef.close();
    });

    it('is not global by default', async () => {
      const compiling = Test.createTestingModule({
        imports: [SessionModule.forRoot({ jwtSecret, sessionSecret, clock: new FakeClock() }), FeatureModule],
      }).compile();
      await expect(compiling).rejects.toThrow(/Consumer/);
    });
  });
});
