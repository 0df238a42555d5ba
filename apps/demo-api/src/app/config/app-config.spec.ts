import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { parseDuration, validateSessionOptions } from '@tessera/session';
import type { AccessTokenKeyOptions, Duration } from '@tessera/session';
import { AppConfig, ConfigError, loadConfig } from './app-config';

const MINUTE = 60_000;

/** A secret of exactly `bytes` UTF-8 bytes (hex: one byte per character). */
function secretOf(bytes: number): string {
  return randomBytes(bytes).toString('hex').slice(0, bytes);
}

/** Development environment with valid secrets, so only the variable under test can be wrong. */
function devEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { JWT_SECRET: secretOf(48), SESSION_SECRET: secretOf(48), ...extra };
}

/** A complete, valid production environment. */
function productionEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    NODE_ENV: 'production',
    DATABASE_URL: 'postgres://app:pw@db.internal:5432/app',
    JWT_SECRET: secretOf(48),
    SESSION_SECRET: secretOf(48),
    ALLOWED_ORIGINS: 'https://app.example.com',
    ...extra,
  };
}

/** PEM texts of a freshly generated key pair. */
function pemPair(pair: { privateKey: KeyObject; publicKey: KeyObject }): { privateKey: string; publicKey: string } {
  return {
    privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

const ed25519 = pemPair(generateKeyPairSync('ed25519'));
const otherEd25519 = pemPair(generateKeyPairSync('ed25519'));
const rsa = pemPair(generateKeyPairSync('rsa', { modulusLength: 2048 }));
const p256 = pemPair(generateKeyPairSync('ec', { namedCurve: 'P-256' }));
const x25519 = pemPair(generateKeyPairSync('x25519'));

/** The base64 body of a PEM, the part that must never appear in an error message. */
function pemBody(pem: string): string {
  return pem.split('\n').filter((line) => line && !line.startsWith('-----')).join('');
}

/**
 * A duration option of what loadConfig built, in ms by the library's own grammar; undefined
 * when left unset (SessionModule's default applies: its own specs pin the defaults).
 */
function msOf(value: Duration | undefined): number | undefined {
  return value === undefined ? undefined : parseDuration(value);
}

/** The key of that algorithm in the access-token key ring loadConfig built (EdDSA: JWT_PRIVATE_KEY/JWT_PUBLIC_KEY). */
function keyOf(config: AppConfig, algorithm: AccessTokenKeyOptions['algorithm']): AccessTokenKeyOptions | undefined {
  return config.session.keys?.find((key) => key.algorithm === algorithm);
}

/** JWT_SECRET as it reaches the library: the secret of the HS256 key. */
function jwtSecretOf(config: AppConfig): string | undefined {
  return keyOf(config, 'HS256')?.secret as string | undefined;
}

/** The ConfigError thrown by loadConfig(env); fails the test when it does not throw one. */
function configErrorFor(env: NodeJS.ProcessEnv): ConfigError {
  let thrown: unknown;
  try {
    loadConfig(env);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  return thrown as ConfigError;
}

/** The ConfigError for `name=raw` in a development environment; fails the test unless its message names both. */
function refusalNaming(name: string, raw: string): ConfigError {
  const error = configErrorFor(devEnv({ [name]: raw }));
  expect(error.message).toContain(name);
  expect(error.message).toContain(`"${raw}"`);
  return error;
}

describe('loadConfig', () => {
  describe('defaults (empty development environment)', () => {
    let config: AppConfig;
    beforeAll(() => {
      config = loadConfig({});
    });

    it('returns an AppConfig for development', () => {
      expect(config).toBeInstanceOf(AppConfig);
      expect(config.production).toBe(false);
    });

    it('listens on 127.0.0.1:3000', () => {
      expect(config.port).toBe(3000);
      expect(config.host).toBe('127.0.0.1');
    });

    it('uses the embedded server in .data', () => {
      expect(config.databaseUrl).toBeUndefined();
      expect(config.dataDir).toBe('.data');
    });

    it("leaves the lifetimes to the library's defaults (10 minutes, 7 days idle, 30 days absolute), options it accepts", () => {
      expect(config.session.accessTokenTtl).toBeUndefined();
      expect(config.session.idleTimeout).toBeUndefined();
      expect(config.session.absoluteTimeout).toBeUndefined();
      expect(() => validateSessionOptions(config.session)).not.toThrow();
    });

    it('keeps cookies Secure', () => {
      expect(config.cookieSecure).toBe(true);
    });

    it('allows http://localhost:3000 and http://127.0.0.1:3000', () => {
      expect(config.allowedOrigins).toEqual(['http://localhost:3000', 'http://127.0.0.1:3000']);
    });

    it('has no admin and allows 10 failed logins', () => {
      expect([...config.adminEmails]).toEqual([]);
      expect(config.loginRateLimit).toBe(10);
    });
  });

  it('derives the default allowed origins from PORT', () => {
    const config = loadConfig(devEnv({ PORT: '4123' }));
    expect(config.port).toBe(4123);
    expect(config.allowedOrigins).toEqual(['http://localhost:4123', 'http://127.0.0.1:4123']);
  });

  it('orders the lifetimes: ACCESS_TOKEN_TTL <= SESSION_IDLE_TIMEOUT <= SESSION_ABSOLUTE_TIMEOUT', () => {
    expect(configErrorFor(devEnv({ SESSION_IDLE_TIMEOUT: '12h', SESSION_ABSOLUTE_TIMEOUT: '1h' })).message).toContain(
      'SESSION_IDLE_TIMEOUT must not exceed SESSION_ABSOLUTE_TIMEOUT',
    );
    expect(configErrorFor(devEnv({ ACCESS_TOKEN_TTL: '2h', SESSION_IDLE_TIMEOUT: '1h' })).message).toContain(
      'ACCESS_TOKEN_TTL must not exceed SESSION_IDLE_TIMEOUT',
    );
  });

  it('reads REFRESH_REUSE_GRACE (default 10s, 0s turns it off) and MAX_SESSIONS_PER_USER (default 10, 0 = no limit)', () => {
    const defaults = loadConfig(devEnv()).session;
    expect(defaults.refreshReuseGrace).toBeUndefined();
    expect(defaults.maxSessionsPerUser).toBeUndefined();
    const set = loadConfig(devEnv({ REFRESH_REUSE_GRACE: '0s', MAX_SESSIONS_PER_USER: '0' })).session;
    expect(set.refreshReuseGrace).toBe(0);
    expect(set.maxSessionsPerUser).toBe(0);
    expect(() => validateSessionOptions(set)).not.toThrow();
    expect(msOf(loadConfig(devEnv({ REFRESH_REUSE_GRACE: '2500ms' })).session.refreshReuseGrace)).toBe(2_500);
    expect(configErrorFor(devEnv({ REFRESH_REUSE_GRACE: 'soon' })).message).toContain('REFRESH_REUSE_GRACE');
    for (const bad of ['-1', 'three', '2.5']) {
      expect(configErrorFor(devEnv({ MAX_SESSIONS_PER_USER: bad })).message).toContain('MAX_SESSIONS_PER_USER');
    }
  });

  it('logs JSON lines in production and text otherwise, unless LOG_FORMAT says', () => {
    expect(loadConfig(devEnv()).logFormat).toBe('text');
    expect(loadConfig(productionEnv()).logFormat).toBe('json');
    expect(loadConfig(devEnv({ LOG_FORMAT: 'json' })).logFormat).toBe('json');
    expect(loadConfig(productionEnv({ LOG_FORMAT: 'text' })).logFormat).toBe('text');
    expect(() => loadConfig(devEnv({ LOG_FORMAT: 'yaml' }))).toThrow('LOG_FORMAT must be "json" or "text" (got "yaml").');
  });

  it('runs on Express unless HTTP_ADAPTER says fastify, and refuses any other platform', () => {
    expect(loadConfig(devEnv()).httpAdapter).toBe('express');
    expect(loadConfig(devEnv({ HTTP_ADAPTER: 'fastify' })).httpAdapter).toBe('fastify');
    expect(loadConfig(devEnv({ HTTP_ADAPTER: 'express' })).httpAdapter).toBe('express');
    expect(() => loadConfig(devEnv({ HTTP_ADAPTER: 'koa' }))).toThrow('HTTP_ADAPTER must be "express" or "fastify" (got "koa").');
  });

  it('accepts PORT=0 (a free port) and reads HOST and DATA_DIR', () => {
    const config = loadConfig(devEnv({ PORT: '0', HOST: '0.0.0.0', DATA_DIR: '/var/lib/tessera' }));
    expect(config.port).toBe(0);
    expect(config.host).toBe('0.0.0.0');
    expect(config.dataDir).toBe('/var/lib/tessera');
  });

  it('parses every documented duration unit', () => {
    const config = loadConfig(
      devEnv({ ACCESS_TOKEN_TTL: '500ms', SESSION_IDLE_TIMEOUT: '15m', SESSION_ABSOLUTE_TIMEOUT: '12h' }),
    ).session;
    expect(() => validateSessionOptions(config)).not.toThrow();
    expect(msOf(config.accessTokenTtl)).toBe(500);
    expect(msOf(config.idleTimeout)).toBe(15 * MINUTE);
    expect(msOf(config.absoluteTimeout)).toBe(12 * 60 * MINUTE);
    expect(msOf(loadConfig(devEnv({ ACCESS_TOKEN_TTL: '30s' })).session.accessTokenTtl)).toBe(30_000);
  });

  describe('development secrets', () => {
    it('generates two different random secrets of at least 32 bytes when none are set', () => {
      const config = loadConfig({});
      expect(jwtSecretOf(config)).toEqual(expect.any(String));
      expect(Buffer.byteLength(jwtSecretOf(config) ?? '', 'utf8')).toBeGreaterThanOrEqual(32);
      expect(Buffer.byteLength(String(config.session.sessionSecret), 'utf8')).toBeGreaterThanOrEqual(32);
      expect(jwtSecretOf(config)).not.toBe(config.session.sessionSecret);
    });

    it('generates new secrets on every boot', () => {
      const first = loadConfig({});
      const second = loadConfig({});
      expect(jwtSecretOf(second)).not.toBe(jwtSecretOf(first));
      expect(second.session.sessionSecret).not.toBe(first.session.sessionSecret);
    });

    it('warns about each generated secret, by name', () => {
      const { warnings } = loadConfig({});
      expect(warnings).toEqual([expect.stringContaining('JWT_SECRET'), expect.stringContaining('SESSION_SECRET')]);
    });

    it('uses the given secrets as they are, without a warning', () => {
      const env = devEnv();
      const config = loadConfig(env);
      expect(jwtSecretOf(config)).toBe(env.JWT_SECRET);
      expect(config.session.sessionSecret).toBe(env.SESSION_SECRET);
      expect(config.warnings).toEqual([]);
    });

    it('accepts a secret of exactly 32 bytes', () => {
      expect(jwtSecretOf(loadConfig(devEnv({ JWT_SECRET: secretOf(32) })))).toHaveLength(32);
    });

    it.each(['JWT_SECRET', 'SESSION_SECRET'])('refuses %s under 32 bytes, naming it, without echoing it', (name) => {
      const short = secretOf(31);
      const error = configErrorFor(devEnv({ [name]: short }));
      expect(error.message).toContain(name);
      expect(error.message).not.toContain(short);
    });

    it('counts bytes, not characters (31 bytes of multi-byte text is too short)', () => {
      // 10 three-byte characters + 1 = 31 bytes in 11 characters; 11 * 3 = 33 bytes passes.
      expect(configErrorFor(devEnv({ JWT_SECRET: `${'€'.repeat(10)}a` })).message).toContain('JWT_SECRET');
      expect(jwtSecretOf(loadConfig(devEnv({ JWT_SECRET: '€'.repeat(11) })))).toBe('€'.repeat(11));
    });

    it('refuses equal JWT_SECRET and SESSION_SECRET', () => {
      const shared = secretOf(40);
      const error = configErrorFor({ JWT_SECRET: shared, SESSION_SECRET: shared });
      expect(error.message).toMatch(/SESSION_SECRET/);
      expect(error.message).toMatch(/JWT_SECRET/);
      expect(error.message).not.toContain(shared);
    });
  });

  describe('Ed25519 keys (JWT_PRIVATE_KEY / JWT_PUBLIC_KEY)', () => {
    it('has no Ed25519 keys by default', () => {
      expect(keyOf(loadConfig(devEnv()), 'EdDSA')).toBeUndefined();
      expect(keyOf(loadConfig({}), 'EdDSA')).toBeUndefined();
    });

    it('takes both keys, and keeps JWT_SECRET beside them (verify-only in the ring)', () => {
      const env = devEnv({ JWT_PRIVATE_KEY: ed25519.privateKey, JWT_PUBLIC_KEY: ed25519.publicKey });
      const config = loadConfig(env);
      expect(keyOf(config, 'EdDSA')).toEqual({
        algorithm: 'EdDSA',
        privateKey: ed25519.privateKey.trim(),
        publicKey: ed25519.publicKey.trim(),
      });
      expect(jwtSecretOf(config)).toBe(env.JWT_SECRET);
      expect(config.warnings).toEqual([]);
    });

    it('derives the public key when only JWT_PRIVATE_KEY is set', () => {
      const config = loadConfig(devEnv({ JWT_PRIVATE_KEY: ed25519.privateKey }));
      // The library derives it: loadConfig leaves the option unset.
      expect(keyOf(config, 'EdDSA')?.publicKey).toBeUndefined();
      expect(() => validateSessionOptions(config.session)).not.toThrow();
    });

    it('turns literal \\n sequences (one-line .env values) into newlines', () => {
      const oneLine = (pem: string) => pem.trim().split('\n').join('\\n');
      expect(oneLine(ed25519.privateKey)).not.toContain('\n');
      const config = loadConfig(
        devEnv({ JWT_PRIVATE_KEY: oneLine(ed25519.privateKey), JWT_PUBLIC_KEY: `${oneLine(ed25519.publicKey)}\\n` }),
      );
      expect(keyOf(config, 'EdDSA')?.privateKey).toBe(ed25519.privateKey.trim());
      expect(createPublicKey(String(keyOf(config, 'EdDSA')?.publicKey)).equals(createPublicKey(ed25519.publicKey))).toBe(true);
    });

    it('treats blank key variables as unset', () => {
      const config = loadConfig(devEnv({ JWT_PRIVATE_KEY: '  ', JWT_PUBLIC_KEY: '' }));
      expect(keyOf(config, 'EdDSA')).toBeUndefined();
    });

    it('refuses JWT_PUBLIC_KEY without JWT_PRIVATE_KEY, naming both', () => {
      const message = configErrorFor(devEnv({ JWT_PUBLIC_KEY: ed25519.publicKey })).message;
      expect(message).toMatch(/^\s*- JWT_PUBLIC_KEY .*JWT_PRIVATE_KEY/m);
      expect(message).not.toContain(pemBody(ed25519.publicKey));
    });

    it.each([
      ['text that is no PEM', 'not-a-key'],
      ['a truncated PEM', ed25519.privateKey.slice(0, 60)],
      ['an RSA private key', rsa.privateKey],
      ['a P-256 private key', p256.privateKey],
      ['an X25519 private key', x25519.privateKey],
      ['an Ed25519 public key', ed25519.publicKey],
    ])('refuses %s as JWT_PRIVATE_KEY, naming it without echoing it', (_label, pem) => {
      const message = configErrorFor(devEnv({ JWT_PRIVATE_KEY: pem })).message;
      expect(message).toMatch(/^\s*- JWT_PRIVATE_KEY must be .*Ed25519/m);
      expect(message).not.toMatch(/^\s*- JWT_PUBLIC_KEY/m);
      if (pem.includes('-----BEGIN')) expect(message).not.toContain(pemBody(pem).slice(0, 40));
      else expect(message).not.toContain(pem);
    });

    it.each([
      ['text that is no PEM', 'not-a-key'],
      ['an RSA public key', rsa.publicKey],
      ['a P-256 public key', p256.publicKey],
      ['an X25519 public key', x25519.publicKey],
      // createPublicKey would derive a public key from it; a private key has no place in a "public" variable.
      ['the Ed25519 private key itself', ed25519.privateKey],
    ])('refuses %s as JWT_PUBLIC_KEY, naming it without echoing it', (_label, pem) => {
      const message = configErrorFor(devEnv({ JWT_PRIVATE_KEY: ed25519.privateKey, JWT_PUBLIC_KEY: pem })).message;
      expect(message).toMatch(/^\s*- JWT_PUBLIC_KEY must be .*Ed25519/m);
      expect(message).not.toMatch(/^\s*- JWT_PRIVATE_KEY/m);
      expect(message).not.toContain(pemBody(ed25519.privateKey).slice(0, 40));
      if (pem.includes('-----BEGIN')) expect(message).not.toContain(pemBody(pem).slice(0, 40));
    });

    it('refuses a public key that does not belong to the private key', () => {
      const message = configErrorFor(
        devEnv({ JWT_PRIVATE_KEY: ed25519.privateKey, JWT_PUBLIC_KEY: otherEd25519.publicKey }),
      ).message;
      expect(message).toMatch(/^\s*- JWT_PUBLIC_KEY: publicKey does not belong to privateKey/m);
    });

    it('makes JWT_SECRET optional in development, without generating one or warning about it', () => {
      const config = loadConfig({ SESSION_SECRET: secretOf(48), JWT_PRIVATE_KEY: ed25519.privateKey });
      expect(jwtSecretOf(config)).toBeUndefined();
      expect(keyOf(config, 'EdDSA')).toBeDefined();
      expect(config.warnings).toEqual([]);
    });

    it('still generates a random JWT_SECRET, with a warning, when neither is set in development', () => {
      const config = loadConfig({ SESSION_SECRET: secretOf(48) });
      expect(keyOf(config, 'EdDSA')).toBeUndefined();
      expect(Buffer.byteLength(jwtSecretOf(config) ?? '', 'utf8')).toBeGreaterThanOrEqual(32);
      expect(config.warnings).toEqual([expect.stringContaining('JWT_SECRET')]);
    });

    it('makes JWT_SECRET optional in production when Ed25519 keys are set', () => {
      const config = loadConfig(
        productionEnv({ JWT_SECRET: undefined, JWT_PRIVATE_KEY: ed25519.privateKey, JWT_PUBLIC_KEY: ed25519.publicKey }),
      );
      expect(config.production).toBe(true);
      expect(jwtSecretOf(config)).toBeUndefined();
      expect(keyOf(config, 'EdDSA')?.privateKey).toBe(ed25519.privateKey.trim());
      expect(config.warnings).toEqual([]);
    });

    it('keeps both in production when both are set', () => {
      const env = productionEnv({ JWT_PRIVATE_KEY: ed25519.privateKey });
      const config = loadConfig(env);
      expect(jwtSecretOf(config)).toBe(env.JWT_SECRET);
      expect(keyOf(config, 'EdDSA')).toBeDefined();
    });

    it('blames only the bad key, not the missing JWT_SECRET, in production', () => {
      const message = configErrorFor(productionEnv({ JWT_SECRET: undefined, JWT_PRIVATE_KEY: rsa.privateKey })).message;
      expect(message).toMatch(/^\s*- JWT_PRIVATE_KEY/m);
      expect(message).not.toMatch(/^\s*- JWT_SECRET/m);
    });

    it('still checks a JWT_SECRET given beside the keys', () => {
      const short = secretOf(31);
      const message = configErrorFor(devEnv({ JWT_SECRET: short, JWT_PRIVATE_KEY: ed25519.privateKey })).message;
      expect(message).toMatch(/^\s*- JWT_SECRET must be at least 32 bytes/m);
      const shared = secretOf(40);
      expect(
        configErrorFor({ JWT_SECRET: shared, SESSION_SECRET: shared, JWT_PRIVATE_KEY: ed25519.privateKey }).message,
      ).toMatch(/^\s*- SESSION_SECRET must differ from .*JWT_SECRET/m);
    });
  });

  describe('malformed durations', () => {
    it.each([
      ['ACCESS_TOKEN_TTL', '10 minutes'],
      ['ACCESS_TOKEN_TTL', 'ten'],
      ['ACCESS_TOKEN_TTL', '10'],
      ['SESSION_IDLE_TIMEOUT', '-1s'],
      ['SESSION_IDLE_TIMEOUT', '0s'],
      ['SESSION_ABSOLUTE_TIMEOUT', '1w'],
      ['SESSION_ABSOLUTE_TIMEOUT', '1.5h'],
    ])('refuses %s=%s, naming the variable', (name, raw) => {
      const error = refusalNaming(name, raw);
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe('ConfigError');
    });
  });

  describe('production', () => {
    it('starts with a complete environment', () => {
      const config = loadConfig(productionEnv());
      expect(config.production).toBe(true);
      expect(config.databaseUrl).toBe('postgres://app:pw@db.internal:5432/app');
      expect(config.cookieSecure).toBe(true);
      expect(config.warnings).toEqual([]);
    });

    it.each(['JWT_SECRET', 'SESSION_SECRET', 'DATABASE_URL'])('refuses to start without %s, naming it', (name) => {
      const env = productionEnv({ [name]: undefined });
      const error = configErrorFor(env);
      expect(error.message).toContain(name);
      // Only that variable is wrong: the message must not blame another one.
      for (const other of ['JWT_SECRET', 'SESSION_SECRET', 'DATABASE_URL'].filter((n) => n !== name)) {
        expect(error.message).not.toMatch(new RegExp(`^\\s*- ${other}`, 'm'));
      }
    });

    it('treats a blank secret as missing', () => {
      expect(configErrorFor(productionEnv({ JWT_SECRET: '   ' })).message).toContain('JWT_SECRET');
    });

    it('refuses COOKIE_SECURE=false, naming it', () => {
      expect(configErrorFor(productionEnv({ COOKIE_SECURE: 'false' })).message).toContain('COOKIE_SECURE');
    });
  });

  describe('COOKIE_SECURE', () => {
    it('can be turned off outside production', () => {
      expect(loadConfig(devEnv({ COOKIE_SECURE: 'false' })).cookieSecure).toBe(false);
      expect(loadConfig(devEnv({ COOKIE_SECURE: 'true' })).cookieSecure).toBe(true);
    });

    it('refuses anything but true or false', () => {
      expect(configErrorFor(devEnv({ COOKIE_SECURE: 'maybe' })).message).toContain('COOKIE_SECURE');
    });
  });

  describe('ALLOWED_ORIGINS', () => {
    it('takes a comma-separated list of origins, trimmed', () => {
      const config = loadConfig(devEnv({ ALLOWED_ORIGINS: ' https://app.example.com , http://localhost:5173 ' }));
      expect(config.allowedOrigins).toEqual(['https://app.example.com', 'http://localhost:5173']);
    });

    it.each(['https://app.example.com/path', 'garbage', 'https://app.example.com,not a url'])(
      'refuses %s, naming ALLOWED_ORIGINS',
      (origins) => {
        expect(configErrorFor(devEnv({ ALLOWED_ORIGINS: origins })).message).toContain('ALLOWED_ORIGINS');
      },
    );
  });

  it('lower-cases and trims ADMIN_EMAILS, ignoring empty entries', () => {
    const config = loadConfig(devEnv({ ADMIN_EMAILS: ' Ada@Example.COM ,, grace@example.com ' }));
    expect([...config.adminEmails].sort()).toEqual(['ada@example.com', 'grace@example.com']);
    expect(config.adminEmails.has('ada@example.com')).toBe(true);
  });

  describe('LOGIN_RATE_LIMIT', () => {
    it('reads a positive integer', () => {
      expect(loadConfig(devEnv({ LOGIN_RATE_LIMIT: '3' })).loginRateLimit).toBe(3);
    });

    it.each(['0', '-1', '2.5', 'many'])('refuses %s, naming it', (raw) => {
      expect(configErrorFor(devEnv({ LOGIN_RATE_LIMIT: raw })).message).toContain('LOGIN_RATE_LIMIT');
    });
  });

  describe('finding 10: TRUST_PROXY', () => {
    it('trusts no proxy by default (X-Forwarded-For is ignored)', () => {
      expect(loadConfig(devEnv()).trustProxy).toBe(false);
      expect(loadConfig(devEnv({ TRUST_PROXY: 'false' })).trustProxy).toBe(false);
      expect(loadConfig(devEnv({ TRUST_PROXY: '0' })).trustProxy).toBe(false);
    });

    it('reads a hop count', () => {
      expect(loadConfig(devEnv({ TRUST_PROXY: '2' })).trustProxy).toBe(2);
    });

    it('reads comma-separated proxy addresses and CIDRs, trimmed', () => {
      expect(loadConfig(devEnv({ TRUST_PROXY: ' 10.0.0.0/8, 127.0.0.1 ,::1,fd00::/8 ' })).trustProxy).toEqual([
        '10.0.0.0/8',
        '127.0.0.1',
        '::1',
        'fd00::/8',
      ]);
    });

    it.each(['true', 'yes', '100', '-1', '1.5', '10.0.0.0/33', '::1/129', '10.0.0/8', '10.0.0.0/8,', 'loopback', '10.0.0.0/x'])(
      'refuses %s, naming TRUST_PROXY',
      (raw) => {
        refusalNaming('TRUST_PROXY', raw);
      },
    );
  });

  it.each(['70000', '-1', '80.5', 'http'])('refuses PORT=%s, naming it', (raw) => {
    expect(configErrorFor(devEnv({ PORT: raw })).message).toContain('PORT');
  });

  describe('session store (SESSION_STORE, REDIS_URL, REDIS_KEY_PREFIX, STORE_TIMEOUT)', () => {
    const REDIS = 'redis://127.0.0.1:6379';

    it('keeps sessions in PostgreSQL by default, with a 2 s store timeout', () => {
      expect(loadConfig({}).store).toEqual({ kind: 'postgres', redisUrl: undefined, redisKeyPrefix: 'tessera', timeoutMs: 2_000 });
    });

    it('uses Redis when REDIS_URL is set and SESSION_STORE is not', () => {
      const config = loadConfig(devEnv({ REDIS_URL: REDIS }));
      expect(config.store).toMatchObject({ kind: 'redis', redisUrl: REDIS });
      expect(config.warnings).toEqual([]);
    });

    it('lets SESSION_STORE choose, whatever REDIS_URL says; postgres with REDIS_URL set is a warning, not a refusal', () => {
      expect(loadConfig(devEnv({ SESSION_STORE: 'redis', REDIS_URL: 'rediss://:pw@cache.internal:6380/2' })).store.kind).toBe('redis');
      const postgres = loadConfig(devEnv({ SESSION_STORE: 'postgres', REDIS_URL: REDIS }));
      expect(postgres.store.kind).toBe('postgres');
      expect(postgres.warnings).toEqual(['REDIS_URL is set but SESSION_STORE=postgres: Redis is not used.']);
    });

    it('refuses SESSION_STORE=redis without REDIS_URL, saying what to set', () => {
      const error = configErrorFor(devEnv({ SESSION_STORE: 'redis' }));
      expect(error.message).toMatch(/^\s*- SESSION_STORE=redis needs REDIS_URL: set REDIS_URL to a redis:\/\/ or rediss:\/\/ URL/m);
      expect(error.message).toContain('SESSION_STORE=postgres');
    });

    it.each(['mongodb://127.0.0.1', 'redis//127.0.0.1', '127.0.0.1:6379', 'redis://'])('refuses REDIS_URL=%s, naming it', (raw) => {
      expect(configErrorFor(devEnv({ REDIS_URL: raw })).message).toMatch(/^\s*- REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/m);
    });

    it('never echoes REDIS_URL, which may hold a password', () => {
      const error = configErrorFor(devEnv({ REDIS_URL: 'http://user:s3cret-value@cache:6379' }));
      expect(error.message.includes('s3cret-value')).toBe(false);
    });

    it.each(['Redis', 'memory', 'pg'])('refuses SESSION_STORE=%s, naming it', (raw) => {
      refusalNaming('SESSION_STORE', raw);
    });

    it('reads STORE_TIMEOUT as a duration', () => {
      expect(loadConfig(devEnv({ STORE_TIMEOUT: '750ms' })).store.timeoutMs).toBe(750);
      expect(loadConfig(devEnv({ STORE_TIMEOUT: '5s', REDIS_URL: REDIS })).store.timeoutMs).toBe(5_000);
    });

    it.each(['0s', '2', 'two seconds', '-1s', '25d'])('refuses STORE_TIMEOUT=%s, naming it', (raw) => {
      refusalNaming('STORE_TIMEOUT', raw);
    });

    it('reads REDIS_KEY_PREFIX, refusing braces (they would move the keys\' hash tags) and blanks inside', () => {
      expect(loadConfig(devEnv({ REDIS_URL: REDIS, REDIS_KEY_PREFIX: 'shop:staging' })).store.redisKeyPrefix).toBe('shop:staging');
      refusalNaming('REDIS_KEY_PREFIX', 'a{b}');
      refusalNaming('REDIS_KEY_PREFIX', 'two words');
    });
  });

  it('refuses a DATABASE_URL that is not a PostgreSQL URL', () => {
    expect(configErrorFor(devEnv({ DATABASE_URL: 'mysql://db/app' })).message).toContain('DATABASE_URL');
  });

  it('reports every problem together in one error, one line each', () => {
    const error = configErrorFor({
      NODE_ENV: 'production',
      PORT: '70000',
      ACCESS_TOKEN_TTL: 'ten',
      COOKIE_SECURE: 'false',
      LOGIN_RATE_LIMIT: '0',
    });
    const lines = error.message.split('\n').filter((line) => line.trim().startsWith('- '));
    for (const name of ['PORT', 'DATABASE_URL', 'JWT_SECRET', 'SESSION_SECRET', 'ACCESS_TOKEN_TTL', 'COOKIE_SECURE', 'LOGIN_RATE_LIMIT']) {
      expect(lines.some((line) => line.trim().startsWith(`- ${name}`))).toBe(true);
    }
  });

  // Regression: the default origins follow PORT; a bad PORT must not also be blamed on
  // an ALLOWED_ORIGINS the user never set.
  it('reports a bad PORT once, without blaming an ALLOWED_ORIGINS that was not set', () => {
    const error = configErrorFor(devEnv({ PORT: '70000' }));
    expect(error.message).toContain('PORT');
    expect(error.message).not.toContain('ALLOWED_ORIGINS');
  });

  describe('session options: the library checks them, the message names the variable', () => {
    it('passes durations as written and maps CLEANUP_CRON=off to no schedule', () => {
      const config = loadConfig(devEnv({ ACCESS_TOKEN_TTL: '5m', CLEANUP_CRON: 'off', REVOCATION_MODE: 'strict' }));
      expect(config.session).toMatchObject({ accessTokenTtl: '5m', cleanup: { cron: false }, revocationMode: 'strict' });
      expect(() => validateSessionOptions(config.session)).not.toThrow();
      expect(loadConfig(devEnv()).session.cleanup?.cron).toBeUndefined(); // the library's default schedule
    });

    it.each([
      ['REVOCATION_MODE', 'sometimes'],
      ['CLEANUP_CRON', 'never'],
      ['ALLOWED_ORIGINS', 'https://app.example.com/path'],
      ['SESSION_ABSOLUTE_TIMEOUT', '1w'],
      ['REFRESH_REUSE_GRACE', 'soon'],
    ])('reports a refused %s=%s by its name, not the option', (name, raw) => {
      const message = configErrorFor(devEnv({ [name]: raw })).message;
      expect(message).toMatch(new RegExp(`^\\s*- ${name} must .*"${raw.replace(/[/.]/g, '\\$&')}"`, 'm'));
      expect(message).not.toContain('SessionModule option');
    });

    it('reports every option the library refuses, each by its variable', () => {
      const short = secretOf(20);
      const message = configErrorFor(
        devEnv({
          SESSION_SECRET: short,
          ACCESS_TOKEN_TTL: 'ten',
          REVOCATION_MODE: 'sometimes',
          ALLOWED_ORIGINS: 'garbage',
          CLEANUP_CRON: 'never',
        }),
      ).message;
      for (const name of ['SESSION_SECRET', 'ACCESS_TOKEN_TTL', 'REVOCATION_MODE', 'ALLOWED_ORIGINS', 'CLEANUP_CRON']) {
        expect(message).toMatch(new RegExp(`^\\s*- ${name} `, 'm'));
      }
      expect(message).not.toContain(short);
    });

    it.each([
      [{ SESSION_ABSOLUTE_TIMEOUT: 'soon', SESSION_IDLE_TIMEOUT: '40d' }, 'SESSION_ABSOLUTE_TIMEOUT'],
      [{ SESSION_IDLE_TIMEOUT: 'soon', SESSION_ABSOLUTE_TIMEOUT: '1h' }, 'SESSION_IDLE_TIMEOUT'],
      [{ SESSION_IDLE_TIMEOUT: 'soon', ACCESS_TOKEN_TTL: '1d' }, 'SESSION_IDLE_TIMEOUT'],
      [{ ACCESS_TOKEN_TTL: 'soon', SESSION_IDLE_TIMEOUT: '1m' }, 'ACCESS_TOKEN_TTL'],
    ])('does not blame a lifetime relation on a malformed value (%p)', (env, name) => {
      const lines = configErrorFor(devEnv(env)).message.split('\n').filter((line) => line.trim().startsWith('- '));
      expect(lines).toEqual([expect.stringContaining(`- ${name} must be a positive duration`)]);
    });

    it('still collects the app-level problems beside the library one', () => {
      const message = configErrorFor(devEnv({ REVOCATION_MODE: 'sometimes', LOGIN_RATE_LIMIT: '0', PORT: 'http' })).message;
      for (const name of ['REVOCATION_MODE', 'LOGIN_RATE_LIMIT', 'PORT']) expect(message).toMatch(new RegExp(`^\\s*- ${name} `, 'm'));
    });
  });

  describe('finding 9: HTTP server limits', () => {
    it('defaults to headers 10s, request 30s, keep-alive 5s and no connection limit', () => {
      expect(loadConfig(devEnv()).serverLimits).toEqual({
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 30_000,
        keepAliveTimeoutMs: 5_000,
        maxConnections: undefined,
      });
    });

    it('reads HEADERS_TIMEOUT, REQUEST_TIMEOUT, KEEP_ALIVE_TIMEOUT as durations and MAX_CONNECTIONS as an integer', () => {
      const config = loadConfig(
        devEnv({ HEADERS_TIMEOUT: '500ms', REQUEST_TIMEOUT: '2m', KEEP_ALIVE_TIMEOUT: '65s', MAX_CONNECTIONS: ' 1000 ' }),
      );
      expect(config.serverLimits).toEqual({
        headersTimeoutMs: 500,
        requestTimeoutMs: 2 * MINUTE,
        keepAliveTimeoutMs: 65_000,
        maxConnections: 1000,
      });
    });

    it('allows HEADERS_TIMEOUT equal to REQUEST_TIMEOUT', () => {
      const config = loadConfig(devEnv({ HEADERS_TIMEOUT: '30s', REQUEST_TIMEOUT: '30s' }));
      expect(config.serverLimits.headersTimeoutMs).toBe(config.serverLimits.requestTimeoutMs);
    });

    it.each([
      ['HEADERS_TIMEOUT', '0s'],
      ['HEADERS_TIMEOUT', 'soon'],
      ['REQUEST_TIMEOUT', '-1s'],
      ['REQUEST_TIMEOUT', '30'],
      ['KEEP_ALIVE_TIMEOUT', '5 seconds'],
      ['KEEP_ALIVE_TIMEOUT', '25d'],
      ['MAX_CONNECTIONS', '0'],
      ['MAX_CONNECTIONS', '-5'],
      ['MAX_CONNECTIONS', '1.5'],
      ['MAX_CONNECTIONS', 'unlimited'],
    ])('refuses %s=%s, naming the variable', (name, raw) => {
      refusalNaming(name, raw);
    });

    it('refuses HEADERS_TIMEOUT above REQUEST_TIMEOUT, naming both', () => {
      const error = configErrorFor(devEnv({ HEADERS_TIMEOUT: '1m', REQUEST_TIMEOUT: '30s' }));
      expect(error.message).toContain('HEADERS_TIMEOUT must not exceed REQUEST_TIMEOUT');
    });

    it('refuses a default HEADERS_TIMEOUT above a shorter REQUEST_TIMEOUT', () => {
      expect(configErrorFor(devEnv({ REQUEST_TIMEOUT: '5s' })).message).toContain('HEADERS_TIMEOUT must not exceed REQUEST_TIMEOUT');
    });

    it('does not blame the relation on a REQUEST_TIMEOUT already reported as malformed', () => {
      const error = configErrorFor(devEnv({ REQUEST_TIMEOUT: 'never' }));
      expect(error.message).toContain('REQUEST_TIMEOUT must be a duration');
      expect(error.message).not.toContain('must not exceed');
    });
  });
});
