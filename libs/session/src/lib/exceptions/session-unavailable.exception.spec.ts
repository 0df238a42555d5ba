import { HttpException } from '@nestjs/common';
import { SessionUnauthorizedException } from './session-auth.exception';
import { SessionStoreUnavailableError } from './session-store-unavailable.error';
import { SessionUnavailableException, storeOutageOf } from './session-unavailable.exception';

describe('SessionUnavailableException', () => {
  it('is a 503 with the contract body, a Retry-After in seconds, and the store error as cause only', () => {
    const cause = new SessionStoreUnavailableError('connect ECONNREFUSED 10.0.0.7:6379');
    const exception = new SessionUnavailableException(cause);
    expect(exception).toBeInstanceOf(HttpException);
    expect(exception.getStatus()).toBe(503);
    expect(exception.getResponse()).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'Session store is unavailable; try again shortly',
      code: 'store_unavailable',
    });
    expect(exception.code).toBe('store_unavailable');
    expect(exception.retryAfterSeconds).toBe(2);
    expect(exception.cause).toBe(cause);
    expect(JSON.stringify(exception.getResponse())).not.toContain('10.0.0.7');
    expect(new SessionUnavailableException(undefined, 7).retryAfterSeconds).toBe(7);
  });
});

describe('storeOutageOf', () => {
  it('maps a SessionStoreUnavailableError, from this copy of the package or another, to the 503', () => {
    const error = new SessionStoreUnavailableError();
    expect(storeOutageOf(error)).toEqual(expect.objectContaining({ code: 'store_unavailable', cause: error }));
    const foreign = Object.assign(new Error('timeout'), { name: 'SessionStoreUnavailableError' });
    expect(storeOutageOf(foreign)).toBeInstanceOf(SessionUnavailableException);
  });

  it('keeps an already mapped exception as it is', () => {
    const exception = new SessionUnavailableException(undefined, 5);
    expect(storeOutageOf(exception)).toBe(exception);
  });

  it('is undefined for anything that is not an outage', () => {
    for (const error of [new Error('bug'), new SessionUnauthorizedException('token_invalid'), undefined, 'down', null]) {
      expect(storeOutageOf(error)).toBeUndefined();
    }
  });
});
