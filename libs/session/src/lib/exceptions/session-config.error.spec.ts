import { CONFIG_ERROR_MESSAGES } from '../constants';
import { resolveSessionOptions } from '../options/session-options';
import { SessionConfigError } from './session-config.error';

const jwtSecret = 'config-error-spec-jwt-secret-0123456789ab';
const sessionSecret = 'config-error-spec-session-secret-012345678';

describe('SessionConfigError.option', () => {
  it('names an option for every library message', () => {
    for (const [key, message] of Object.entries(CONFIG_ERROR_MESSAGES)) {
      const text = typeof message === 'function' ? (message as (a: string, b: unknown) => string)('someOption', 'x') : message;
      expect({ key, option: new SessionConfigError(text).option }).toEqual({ key, option: expect.any(String) });
    }
  });

  it('takes an explicit option over the one in the message, and is undefined for a message naming none', () => {
    expect(new SessionConfigError('SessionModule option "a" is wrong.', 'b').option).toBe('b');
    expect(new SessionConfigError('something else').option).toBeUndefined();
  });

  it.each([
    ['idleTimeout', { jwtSecret, sessionSecret, idleTimeout: '2d', absoluteTimeout: '1d' }],
    ['accessTokenTtl', { jwtSecret, sessionSecret, accessTokenTtl: '2d', idleTimeout: '1d' }],
    ['sessionSecret', { jwtSecret, sessionSecret: jwtSecret }],
    ['keys[0].privateKey', { sessionSecret, keys: [{ algorithm: 'EdDSA' as const, privateKey: 'not a key' }] }],
    ['csrf.allowedOrigins', { jwtSecret, sessionSecret, csrf: { allowedOrigins: ['nope'] } }],
    ['cleanup.cron', { jwtSecret, sessionSecret, cleanup: { cron: 'never' } }],
  ])('is %s when resolveSessionOptions refuses that option', (option, options) => {
    expect(() => resolveSessionOptions(options)).toThrow(expect.objectContaining({ name: 'SessionConfigError', option }));
  });
});
