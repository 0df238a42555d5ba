import { SessionUnauthorizedException } from '../../src/lib/exceptions/session-auth.exception';

/** The `code` of the `SessionUnauthorizedException` a promise rejects with; fails the test otherwise. */
export async function failureCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SessionUnauthorizedException);
    return (error as SessionUnauthorizedException).code;
  }
  throw new Error('expected a SessionUnauthorizedException');
}
