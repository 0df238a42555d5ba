import { CONFIG_ERROR_MESSAGES, SessionConfigError } from '@tessera/session';
import { describeSessionConfigError, envVarOf } from './session-env';

describe('envVarOf', () => {
  it.each([
    ['idleTimeout', 'SESSION_IDLE_TIMEOUT'],
    ['csrf.allowedOrigins', 'ALLOWED_ORIGINS'],
    ['keys[1].secret', 'JWT_SECRET'],
    ['keys[0].privateKey', 'JWT_PRIVATE_KEY'],
    ['keys[0].publicKey', 'JWT_PUBLIC_KEY'],
    ['keys[0]', 'JWT_PUBLIC_KEY'],
    ['store', undefined],
    ['activeKeyId', undefined],
  ])('maps %s to %s', (option, name) => {
    expect(envVarOf(option)).toBe(name);
  });
});

describe('describeSessionConfigError', () => {
  it('names the variable in place of the option, and the other options it mentions', () => {
    expect(describeSessionConfigError(new SessionConfigError(CONFIG_ERROR_MESSAGES.ttlOverIdle))).toBe(
      'ACCESS_TOKEN_TTL must not exceed SESSION_IDLE_TIMEOUT.',
    );
  });

  it('leaves the echoed value alone, even when it looks like an option', () => {
    expect(describeSessionConfigError(new SessionConfigError(CONFIG_ERROR_MESSAGES.badRevocationMode('idleTimeout')))).toBe(
      'REVOCATION_MODE must be "stateless", "cached" or "strict" (got "idleTimeout").',
    );
  });

  it('keeps the message of an option the demo does not set', () => {
    const error = new SessionConfigError(CONFIG_ERROR_MESSAGES.badStore);
    expect(describeSessionConfigError(error)).toBe(error.message);
  });
});
