import { NotFoundException } from '@nestjs/common';

/** 404 `user_not_found`: no user has this id. */
export class UserNotFoundException extends NotFoundException {
  readonly code = 'user_not_found';

  constructor() {
    super({ statusCode: 404, error: 'Not Found', message: 'No such user', code: 'user_not_found' });
  }
}
