import { UnauthorizedException } from '@nestjs/common';

/** 401 `invalid_credentials`: a wrong password (or an unknown email, answered the same way). */
export class InvalidCredentialsException extends UnauthorizedException {
  readonly code = 'invalid_credentials';

  constructor(message = 'Invalid email or password') {
    super({ statusCode: 401, error: 'Unauthorized', message, code: 'invalid_credentials' });
  }
}
