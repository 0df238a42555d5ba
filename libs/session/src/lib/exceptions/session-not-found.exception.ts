import { NotFoundException } from '@nestjs/common';

/** Message of `session_not_found`; the same whatever the reason, so it tells nothing about other users. */
export const SESSION_NOT_FOUND_MESSAGE = 'No such session';

/** 404 `session_not_found`: not the caller's session, unknown, already revoked, or not a session id. */
export class SessionNotFoundException extends NotFoundException {
  readonly code = 'session_not_found';

  constructor() {
    super({ statusCode: 404, error: 'Not Found', message: SESSION_NOT_FOUND_MESSAGE, code: 'session_not_found' });
  }
}
