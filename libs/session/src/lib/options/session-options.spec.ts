import { Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { createHash, createPrivateKey, createPublicKey, createSecretKey, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { FakeClock } from '../../testing';
import { withJose } from '@tessera/testing-support';
import { SessionConfigError } from '../exceptions/session-config.error';
import { systemClock } from '../interfaces/clock.interface';
import { SessionClock } from '../interfaces/clock.interface';
import type { SessionModuleOptions } from '../interfaces/session-module-options.interface';
import { SessionStore } from '../interfaces/session-store.interface';
import type { SessionHttpAdapter } from '../interfaces/session-http-adapter.interface';
import { expressHttpAdapter } from '../adapters/express-http.adapter';
import { platformHttpAdapter } from '../adapters/platform-http.adapter';
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

/** PEM texts of a generated key pair. */
function pemPair(pair: { privateKey: KeyObject; publicKey: KeyObject }): { privateKey: string; publicKey: string } {
  return {
    privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** The base64 body of a PEM: what must never show up in a message. */
function pemBody(pem: string): string {
  return pem.split('\n').filter((line) => line && !line.startsWith('-----')).join('');
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
    const options = ['accessTokenTtl', 'idleTimeout', 'absoluteTimeout', 'clockSkew', 'refreshReuseGrace', 'activityInterval'] as const;
    const bad: unknown[] = [-1, '-5m', '10 minutes', '1.5h', 'abc', '10', 1.5, Number.NaN, '0s'];

    for (const option of options) {
      it.each(bad)(`refuses ${option} = %p and names the option`, (value) => {
        expect(configError(valid({ [option]: value })).message).toBe(
          `SessionModule option "${option}" must be a positive duration such as 500ms, 30s, 15m, 12h or 7d (got ${JSON.stringify(value)}).`,
        );
      });
    }

    it.each(['accessTokenTtl', 'idleTimeout', 'absoluteTimeout', 'activityInterval'] as const)('refuses a zero %s', (option) => {
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
      expect(resolveSessionOptions(valid({ algorithm: 'HS256' })).keys.active.algorithm).toBe('HS256');
    });
  });

  describe('session limits and activity', () => {
    it('defaults refreshReuseGrace to 10s, maxSessionsPerUser to 10 and activityInterval to 1m', () => {
      const resolved = resolveSessionOptions(valid());
      expect(resolved.refreshReuseGraceMs).toBe(10_000);
      expect(resolved.maxSessionsPerUser).toBe(10);
      expect(resolved.activityIntervalMs).toBe(MINUTE);
    });

    it('takes the values it is given', () => {
      const resolved = resolveSessionOptions(valid({ refreshReuseGrace: '2s', maxSessionsPerUser: 3, activityInterval: '30s' }));
      expect(resolved.refreshReuseGraceMs).toBe(2_000);
      expect(resolved.maxSessionsPerUser).toBe(3);
      expect(resolved.activityIntervalMs).toBe(30_000);
      expect(resolveSessionOptions(valid({ refreshReuseGrace: 1_500, activityInterval: 5 * MINUTE })).refreshReuseGraceMs).toBe(1_500);
    });

    it('accepts refreshReuseGrace 0 (no grace: any reuse revokes) and maxSessionsPerUser 0 (no limit)', () => {
      const resolved = resolveSessionOptions(valid({ refreshReuseGrace: 0, maxSessionsPerUser: 0 }));
      expect(resolved.refreshReuseGraceMs).toBe(0);
      expect(resolved.maxSessionsPerUser).toBe(0);
    });

    it.each([-1, 1.5, 'x', '10', Number.NaN, Number.POSITIVE_INFINITY, true])(
      'refuses maxSessionsPerUser = %p and names the option',
      (value) => {
        expect(configError(valid({ maxSessionsPerUser: value })).message).toBe(
          `SessionModule option "maxSessionsPerUser" must be a whole number, 0 or more (got ${JSON.stringify(value)}).`,
        );
      },
    );
  });

  describe('verifiedTokenCacheSize', () => {
    it('defaults to 10000 and accepts 0 (off)', () => {
      expect(resolveSessionOptions(valid()).verifiedTokenCacheSize).toBe(10_000);
      expect(resolveSessionOptions(valid({ verifiedTokenCacheSize: 0 })).verifiedTokenCacheSize).toBe(0);
    });

    it.each([-1, 2.5, '100', Number.NaN])('refuses %p and names the option', (value) => {
      expect(configError(valid({ verifiedTokenCacheSize: value as number })).message).toBe(
        `SessionModule option "verifiedTokenCacheSize" must be a whole number, 0 or more (got ${JSON.stringify(value)}).`,
      );
    });
  });

  describe('key ring', () => {
    const ed = pemPair(generateKeyPairSync('ed25519'));
    const ed2 = pemPair(generateKeyPairSync('ed25519'));
    const secondSecret = 'options-spec-second-hs256-key-0123456789ab';
    const edX = createPublicKey(ed.publicKey).export({ format: 'jwk' }).x as string;
    const edThumbprint = createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${edX}"}`).digest('base64url');
    const hsKid = (secret: string) => createHash('sha256').update(secret).digest('base64url').slice(0, 12);

    /** Options with a key ring and no jwtSecret. */
    function ring(keys: unknown[], extra: Partial<Record<keyof SessionModuleOptions, unknown>> = {}): SessionModuleOptions {
      return valid({ jwtSecret: undefined, keys, ...extra });
    }

    describe('boot validation', () => {
      it.each(['RS256', 'none', 'HS512', 'ES256', 'eddsa', 'hs256', '', undefined])(
        'refuses a key algorithm %p, naming keys[i].algorithm',
        (algorithm) => {
          expect(configError(ring([{ algorithm, secret: secondSecret }])).message).toBe(
            `SessionModule option "keys[0].algorithm" must be "HS256" or "EdDSA" (got ${JSON.stringify(algorithm)}).`,
          );
          expect(configError(ring([{ algorithm: 'HS256', secret: secondSecret }, { algorithm }])).message).toContain(
            'SessionModule option "keys[1].algorithm" must be "HS256" or "EdDSA"',
          );
        },
      );

      it('refuses an HS256 key of 31 bytes, naming keys[i].secret, without the secret', () => {
        const short = 'k'.repeat(31);
        const error = configError(ring([{ algorithm: 'HS256', secret: secondSecret }, { algorithm: 'HS256', secret: short }]));
        expect(error.message).toContain('SessionModule option "keys[1].secret" must be at least 32 bytes (got 31)');
        expect(error.message).not.toContain(short);
        expect(configError(ring([{ algorithm: 'HS256', secret: Buffer.alloc(31, 1) }])).message).toContain(
          '"keys[0].secret" must be at least 32 bytes (got 31)',
        );
        expect(resolveSessionOptions(ring([{ algorithm: 'HS256', secret: Buffer.alloc(32, 1) }])).keys.active.algorithm).toBe('HS256');
      });

      it('refuses an HS256 key without a secret', () => {
        expect(configError(ring([{ algorithm: 'HS256' }])).message).toBe('SessionModule option "keys[0].secret" is required.');
      });

      it('refuses an empty kid, naming keys[i].kid', () => {
        expect(configError(ring([{ algorithm: 'HS256', secret: secondSecret, kid: ' ' }])).message).toBe(
          'SessionModule option "keys[0].kid" must be a non-empty string.',
        );
      });

      const notEd25519 = {
        rsa: pemPair(generateKeyPairSync('rsa', { modulusLength: 2048 })),
        p256: pemPair(generateKeyPairSync('ec', { namedCurve: 'P-256' })),
        x25519: pemPair(generateKeyPairSync('x25519')),
        ed448: pemPair(generateKeyPairSync('ed448')),
      };

      it.each([
        ['an RSA key', notEd25519.rsa.privateKey],
        ['a P-256 key', notEd25519.p256.privateKey],
        ['an X25519 key', notEd25519.x25519.privateKey],
        ['an Ed448 key', notEd25519.ed448.privateKey],
        ['an Ed25519 public key', ed.publicKey],
        ['text that is no PEM', 'not a key at all'],
      ])('refuses %s as privateKey with badEd25519Key naming keys[i].privateKey', (_label, privateKey) => {
        const error = configError(ring([{ algorithm: 'HS256', secret: secondSecret }, { algorithm: 'EdDSA', privateKey }]));
        expect(error.message).toBe(
          'SessionModule option "keys[1].privateKey" must be an Ed25519 key in PEM form (openssl genpkey -algorithm ed25519).',
        );
        if (privateKey.includes('-----')) expect(error.message).not.toContain(pemBody(privateKey).slice(0, 40));
      });

      it.each([
        ['an RSA key', notEd25519.rsa.publicKey],
        ['a P-256 key', notEd25519.p256.publicKey],
        ['an X25519 key', notEd25519.x25519.publicKey],
        ['an Ed448 key', notEd25519.ed448.publicKey],
        ['text that is no PEM', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----'],
      ])('refuses %s as publicKey with badEd25519Key naming keys[i].publicKey', (_label, publicKey) => {
        expect(configError(ring([{ algorithm: 'EdDSA', privateKey: ed.privateKey, publicKey }])).message).toBe(
          'SessionModule option "keys[0].publicKey" must be an Ed25519 key in PEM form (openssl genpkey -algorithm ed25519).',
        );
        expect(configError(ring([{ algorithm: 'HS256', secret: secondSecret }, { algorithm: 'EdDSA', publicKey }])).message).toContain(
          '"keys[1].publicKey" must be an Ed25519 key',
        );
      });

      it('takes KeyObjects, and refuses one of the wrong kind', () => {
        const pair = generateKeyPairSync('ed25519');
        const resolved = resolveSessionOptions(ring([{ algorithm: 'EdDSA', privateKey: pair.privateKey, publicKey: pair.publicKey }]));
        expect(resolved.keys.active.signingKey).toBe(pair.privateKey);
        expect(configError(ring([{ algorithm: 'EdDSA', privateKey: pair.publicKey }])).message).toContain('"keys[0].privateKey"');
        expect(configError(ring([{ algorithm: 'EdDSA', privateKey: createSecretKey(Buffer.alloc(32)) }])).message).toContain(
          '"keys[0].privateKey" must be an Ed25519 key',
        );
        expect(configError(ring([{ algorithm: 'EdDSA', privateKey: pair.privateKey, publicKey: pair.privateKey }])).message).toContain(
          '"keys[0].publicKey" must be an Ed25519 key',
        );
      });

      it('refuses a key that mixes HS256 and EdDSA material', () => {
        expect(configError(ring([{ algorithm: 'HS256', secret: secondSecret, privateKey: ed.privateKey }])).message).toBe(
          'SessionModule option "keys[0]" mixes key kinds: HS256 takes "secret", EdDSA takes "privateKey"/"publicKey".',
        );
        expect(configError(ring([{ algorithm: 'EdDSA', privateKey: ed.privateKey, secret: secondSecret }])).message).toContain(
          '"keys[0]" mixes key kinds',
        );
      });

      it('refuses an EdDSA key with neither privateKey nor publicKey', () => {
        expect(configError(ring([{ algorithm: 'EdDSA' }])).message).toBe('SessionModule option "keys[0].publicKey" is required.');
      });

      it('refuses a publicKey that does not belong to the privateKey', () => {
        expect(configError(ring([{ algorithm: 'EdDSA', privateKey: ed.privateKey, publicKey: ed2.publicKey }])).message).toBe(
          'SessionModule option "keys[0]": publicKey does not belong to privateKey.',
        );
      });

      it('refuses two keys with the same kid, given or derived', () => {
        const duplicate = (kid: string) => `SessionModule options "keys": two keys share the kid "${kid}"; give each its own.`;
        const hs = { algorithm: 'HS256', secret: secondSecret };
        const edPair = { algorithm: 'EdDSA', privateKey: ed.privateKey };
        expect(configError(ring([{ ...hs, kid: 'k1' }, { ...edPair, kid: 'k1' }])).message).toBe(duplicate('k1'));
        expect(configError(ring([hs, { ...hs }])).message).toBe(duplicate(hsKid(secondSecret)));
        expect(configError(ring([edPair, { algorithm: 'EdDSA', publicKey: ed.publicKey }])).message).toBe(duplicate(edThumbprint));
        // jwtSecret joins the ring: listing the same secret in keys as well is a duplicate.
        expect(configError(valid({ keys: [{ algorithm: 'HS256', secret: jwtSecret }] })).message).toBe(duplicate(hsKid(jwtSecret)));
      });

      it('refuses an activeKeyId that names no key of the ring', () => {
        expect(configError(ring([{ algorithm: 'HS256', secret: secondSecret }], { activeKeyId: 'nope' })).message).toBe(
          'SessionModule option "activeKeyId" names no key of the ring ("nope").',
        );
        expect(configError(valid({ activeKeyId: 'nope' })).message).toContain('"activeKeyId" names no key of the ring');
      });

      it('refuses an active EdDSA key that has only a publicKey (it cannot sign)', () => {
        expect(configError(ring([{ algorithm: 'EdDSA', publicKey: ed.publicKey }])).message).toBe(
          `SessionModule option "activeKeyId": key "${edThumbprint}" has no private key, so it cannot sign; give it "privateKey".`,
        );
        expect(
          configError(
            ring([{ algorithm: 'HS256', secret: secondSecret }, { algorithm: 'EdDSA', publicKey: ed.publicKey, kid: 'ed-old' }], {
              activeKeyId: 'ed-old',
            }),
          ).message,
        ).toContain('key "ed-old" has no private key');
      });

      it('refuses a sessionSecret equal to an HS256 secret inside keys', () => {
        const message =
          'SessionModule option "sessionSecret" must differ from every HS256 access-token key ("jwtSecret", "keys"): use independent random keys.';
        const keys = [{ algorithm: 'EdDSA', privateKey: ed.privateKey }, { algorithm: 'HS256', secret: secondSecret }];
        expect(configError(ring(keys, { sessionSecret: secondSecret })).message).toBe(message);
        expect(configError(ring(keys, { sessionSecret: Buffer.from(secondSecret) })).message).toBe(message);
        expect(configError(valid({ keys, sessionSecret: secondSecret })).message).toBe(message);
      });

      it('never puts key material in a message', () => {
        const messages = [
          configError(ring([{ algorithm: 'HS256', secret: 'short-ring-secret' }])).message,
          configError(ring([{ algorithm: 'EdDSA', privateKey: ed.privateKey, publicKey: ed2.publicKey }])).message,
          configError(ring([{ algorithm: 'EdDSA', publicKey: ed.publicKey }])).message,
        ];
        for (const message of messages) {
          expect(message).not.toContain('short-ring-secret');
          expect(message).not.toContain(pemBody(ed.privateKey).slice(0, 40));
          expect(message).not.toContain(pemBody(ed2.publicKey).slice(0, 40));
          expect(message).not.toContain(edX);
        }
      });
    });

    describe('resolution', () => {
      it('makes the first of keys active, then jwtSecret as a verify key, in that order', () => {
        const { keys } = resolveSessionOptions(
          valid({ keys: [{ algorithm: 'EdDSA', privateKey: ed.privateKey }, { algorithm: 'HS256', secret: secondSecret }] }),
        );
        expect(keys.active.kid).toBe(edThumbprint);
        expect(keys.active.algorithm).toBe('EdDSA');
        expect([...keys.byKid.keys()]).toEqual([edThumbprint, hsKid(secondSecret), hsKid(jwtSecret)]);
        expect(keys.hmacSecrets).toEqual([Buffer.from(secondSecret), Buffer.from(jwtSecret)]);
      });

      it('signs with the key activeKeyId names, the jwtSecret key included', () => {
        const keys = [{ algorithm: 'HS256', secret: secondSecret, kid: 'k-new' }];
        expect(resolveSessionOptions(valid({ keys, activeKeyId: hsKid(jwtSecret) })).keys.active.kid).toBe(hsKid(jwtSecret));
        expect(resolveSessionOptions(valid({ keys, jwtKeyId: 'k-old', activeKeyId: 'k-old' })).keys.active.kid).toBe('k-old');
        expect(
          resolveSessionOptions(ring([{ algorithm: 'HS256', secret: jwtSecret }, ...keys], { activeKeyId: 'k-new' })).keys.active
            .signingKey.export(),
        ).toEqual(Buffer.from(secondSecret));
      });

      it('names an HS256 key in keys exactly as the same jwtSecret, so moving it into the ring keeps its tokens', () => {
        expect(resolveSessionOptions(ring([{ algorithm: 'HS256', secret: jwtSecret }])).keys.active.kid).toBe(
          resolveSessionOptions(valid()).keys.active.kid,
        );
      });

      it('resolves an Ed25519 pair: public key verifies, private key signs, public JWK only', () => {
        const { keys } = resolveSessionOptions(ring([{ algorithm: 'EdDSA', privateKey: ed.privateKey, publicKey: ed.publicKey }]));
        expect(keys.active.verifyKey.type).toBe('public');
        expect(keys.active.verifyKey.equals(createPublicKey(ed.publicKey))).toBe(true);
        expect(keys.active.signingKey.type).toBe('private');
        expect(keys.active.signingKey.equals(createPrivateKey(ed.privateKey))).toBe(true);
        expect(keys.active.publicJwk).toEqual({ kty: 'OKP', crv: 'Ed25519', x: edX, kid: edThumbprint, alg: 'EdDSA', use: 'sig' });
        expect(keys.hmacSecrets).toEqual([]);
      });

      it('derives the public key from the private key, and keeps a verify-only key without one', () => {
        const { keys } = resolveSessionOptions(
          ring([{ algorithm: 'EdDSA', privateKey: ed.privateKey }, { algorithm: 'EdDSA', publicKey: ed2.publicKey, kid: 'ed-old' }]),
        );
        expect(keys.active.publicJwk?.x).toBe(edX);
        const old = keys.byKid.get('ed-old');
        expect(old?.signingKey).toBeUndefined();
        expect(old?.verifyKey.equals(createPublicKey(ed2.publicKey))).toBe(true);
        expect(old?.publicJwk?.kid).toBe('ed-old');
      });

      it('gives an Ed25519 key the RFC 7638 thumbprint as kid (RFC 8037 appendix A.3 vector)', () => {
        // RFC 8037 A.1 key; A.3 gives its thumbprint.
        const privateKey = createPrivateKey({
          key: {
            kty: 'OKP',
            crv: 'Ed25519',
            d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A',
            x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
          },
          format: 'jwk',
        });
        const { keys } = resolveSessionOptions(ring([{ algorithm: 'EdDSA', privateKey }]));
        expect(keys.active.kid).toBe('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
      });

      it("gives an Ed25519 key the kid that jose's calculateJwkThumbprint computes", async () => {
        const { keys } = resolveSessionOptions(ring([{ algorithm: 'EdDSA', privateKey: ed.privateKey }]));
        // By hand, per RFC 7638 §3: required members only, sorted, no whitespace, SHA-256, base64url.
        expect(keys.active.kid).toBe(edThumbprint);
        const jwk = createPublicKey(ed.publicKey).export({ format: 'jwk' });
        const fromJose = await withJose<string>("return jose.calculateJwkThumbprint(input, 'sha256');", jwk);
        expect(fromJose).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(keys.active.kid).toBe(fromJose);
      });

      it('keeps an explicit kid for an Ed25519 key, in the JWK as well', () => {
        const { keys } = resolveSessionOptions(ring([{ algorithm: 'EdDSA', privateKey: ed.privateKey, kid: 'ed-2030' }]));
        expect(keys.active.kid).toBe('ed-2030');
        expect(keys.active.publicJwk?.kid).toBe('ed-2030');
        expect([...keys.byKid.keys()]).toEqual(['ed-2030']);
      });
    });
  });

  describe('other values', () => {
    it('refuses a store that lacks part of the SessionStore contract', () => {
      const { revokeByUser: _omitted, ...partial } = Object.fromEntries(
        ['create', 'findById', 'rotateRefresh', 'revoke', 'listByUser', 'revokeByUser'].map((name) => [name, () => undefined]),
      );
      expect(configError(valid({ store: partial })).message).toContain('SessionModule option "store" must implement SessionStore');
    });

    it('takes an http adapter that implements SessionHttpAdapter, and refuses one that does not', () => {
      const own = Object.create(expressHttpAdapter) as SessionHttpAdapter;
      expect(resolveSessionOptions(valid({ http: own })).http).toBe(own);
      const error = configError(valid({ http: { method: () => 'GET' } as unknown as SessionHttpAdapter }));
      expect(error.message).toContain('SessionModule option "http" must implement SessionHttpAdapter');
      expect(error.option).toBe('http');
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

  describe('csrf', () => {
    it('defaults to enabled, the request\'s own origin, X-CSRF-Token and tessera-csrf', () => {
      expect(resolveSessionOptions(valid()).csrf).toEqual({
        enabled: true,
        allowedOrigins: [],
        headerName: 'x-csrf-token',
        cookieName: 'tessera-csrf',
      });
      expect(resolveSessionOptions(valid({ csrf: {} })).csrf).toEqual(resolveSessionOptions(valid()).csrf);
    });

    it('takes the values it is given, lower-casing the header name as Node presents request headers', () => {
      const resolved = resolveSessionOptions(
        valid({
          csrf: {
            enabled: false,
            allowedOrigins: ['https://app.example', 'http://localhost:4200'],
            headerName: 'X-Custom-Csrf',
            cookieName: 'my-csrf',
          },
        }),
      );
      expect(resolved.csrf).toEqual({
        enabled: false,
        allowedOrigins: ['https://app.example', 'http://localhost:4200'],
        headerName: 'x-custom-csrf',
        cookieName: 'my-csrf',
      });
    });

    it('normalises an origin written with a trailing slash', () => {
      expect(resolveSessionOptions(valid({ csrf: { allowedOrigins: ['https://a.example/'] } })).csrf.allowedOrigins).toEqual([
        'https://a.example',
      ]);
    });

    it.each([
      'https://a.example/path',
      'not a url',
      '*',
      'a.example',
      'https://a.example?x=1',
      'https://a.example#top',
      'https://user@a.example',
      'https://a.example//',
      'null',
      'file:///etc/passwd',
      '',
    ])('refuses allowedOrigins entry %p, naming csrf.allowedOrigins', (origin) => {
      const message = configError(valid({ csrf: { allowedOrigins: ['https://ok.example', origin] } })).message;
      expect(message).toBe(
        `SessionModule option "csrf.allowedOrigins" must list origins such as https://app.example.com (got ${JSON.stringify(origin)}).`,
      );
    });

    it.each([
      ['csrf.headerName', { csrf: { headerName: ' ' } }],
      ['csrf.cookieName', { csrf: { cookieName: '' } }],
    ])('refuses an empty %s', (option, overrides) => {
      expect(configError(valid(overrides)).message).toBe(`SessionModule option "${option}" must be a non-empty string.`);
    });
  });

  describe('a valid configuration', () => {
    it('resolves with the documented defaults', () => {
      const resolved = resolveSessionOptions(valid());
      const kid = createHash('sha256').update(jwtSecret).digest('base64url').slice(0, 12);
      expect(resolved).toEqual({
        store: expect.any(InMemorySessionStore),
        keys: {
          active: { kid, algorithm: 'HS256', verifyKey: expect.anything(), signingKey: expect.anything() },
          byKid: expect.any(Map),
          hmacSecrets: [Buffer.from(jwtSecret)],
        },
        sessionKey: expect.anything(),
        issuer: 'tessera',
        audience: 'tessera',
        accessTokenTtlMs: 10 * MINUTE,
        idleTimeoutMs: 7 * DAY,
        absoluteTimeoutMs: 30 * DAY,
        clockSkewMs: 5_000,
        refreshReuseGraceMs: 10_000,
        maxSessionsPerUser: 10,
        verifiedTokenCacheSize: 10_000,
        activityIntervalMs: MINUTE,
        freshSessionMaxAgeMs: 10 * MINUTE,
        revocationMode: 'cached',
        cookies: {
          secure: true,
          accessTokenName: 'tessera-at',
          refreshTokenName: 'tessera-rt',
          refreshTokenPath: '/auth',
          names: { access: '__Host-tessera-at', refresh: '__Secure-tessera-rt', csrf: '__Host-tessera-csrf' },
        },
        csrf: { enabled: true, allowedOrigins: [], headerName: 'x-csrf-token', cookieName: 'tessera-csrf' },
        cleanup: { cron: '*/10 * * * *', retentionMs: 7 * DAY, batchSize: 5_000, maxRunTimeMs: 5 * MINUTE },
        resolveUser: undefined,
        claims: undefined,
        userCache: { ttlMs: 0, size: 10_000 },
        telemetry: { enabled: true, meterProvider: undefined, tracerProvider: undefined, liveSessionsSampleIntervalMs: 60_000 },
        clock: systemClock,
        http: platformHttpAdapter,
      });
      const { active, byKid } = resolved.keys;
      expect([...byKid.entries()]).toEqual([[kid, active]]);
      expect(active.signingKey.type).toBe('secret');
      expect(active.signingKey.export()).toEqual(Buffer.from(jwtSecret));
      expect(active.verifyKey.export()).toEqual(Buffer.from(jwtSecret));
      expect(active.publicJwk).toBeUndefined();
      expect(resolved.sessionKey.export()).toEqual(Buffer.from(sessionSecret));
    });

    it('derives a kid that does not reveal the key, and keeps an explicit one', () => {
      const derived = resolveSessionOptions(valid()).keys.active.kid;
      expect(derived).toMatch(/^[A-Za-z0-9_-]{12}$/);
      expect(jwtSecret).not.toContain(derived);
      expect(Buffer.from(jwtSecret).toString('base64url')).not.toContain(derived);
      const explicit = resolveSessionOptions(valid({ jwtKeyId: 'key-2030' })).keys;
      expect(explicit.active.kid).toBe('key-2030');
      expect([...explicit.byKid.keys()]).toEqual(['key-2030']);
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
        names: { access: 'tessera-at', refresh: 'tessera-rt', csrf: 'tessera-csrf' },
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

  it('boots with csrf options and exposes them normalised', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        SessionModule.forRoot({
          jwtSecret,
          sessionSecret,
          clock: new FakeClock(),
          csrf: { allowedOrigins: ['https://a.example/', 'http://b.example:8080'], headerName: 'X-Custom-Csrf' },
        }),
      ],
    }).compile();
    expect(moduleRef.get<ResolvedSessionOptions>(RESOLVED_SESSION_OPTIONS).csrf).toEqual({
      enabled: true,
      allowedOrigins: ['https://a.example', 'http://b.example:8080'],
      headerName: 'x-custom-csrf',
      cookieName: 'tessera-csrf',
    });
    await moduleRef.close();
  });

  it.each([
    [{ jwtSecret: 'too-short' }, 'SessionModule option "jwtSecret" must be at least 32 bytes (got 9)'],
    [{ sessionSecret: jwtSecret }, 'SessionModule option "sessionSecret" must differ from every HS256 access-token key'],
    [{ keys: [{ algorithm: 'RS256' }] }, 'SessionModule option "keys[0].algorithm" must be "HS256" or "EdDSA" (got "RS256")'],
    [{ activeKeyId: 'missing' }, 'SessionModule option "activeKeyId" names no key of the ring ("missing").'],
    [{ accessTokenTtl: '-1m' }, 'SessionModule option "accessTokenTtl" must be a positive duration'],
    [{ algorithm: 'none' }, 'SessionModule option "algorithm" must be "HS256" (got "none")'],
    [{ idleTimeout: '60d' }, 'SessionModule option "idleTimeout" must not exceed "absoluteTimeout".'],
    [{ csrf: { allowedOrigins: ['https://a.example/path'] } }, 'SessionModule option "csrf.allowedOrigins" must list origins'],
    [{ csrf: { allowedOrigins: ['not a url'] } }, 'SessionModule option "csrf.allowedOrigins" must list origins'],
    [{ csrf: { allowedOrigins: ['*'] } }, 'SessionModule option "csrf.allowedOrigins" must list origins'],
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
