import { createParamDecorator } from '@nestjs/common';
import type { ExecutionContext } from '@nestjs/common';
import type { AuthenticatedSession } from '../interfaces/authenticated.interface';
import { sessionOf } from '../utils/session-request.util';

/** Injects the authenticated session (`{ id, userId, transport, ... }`), or one of its properties. */
export const CurrentSession = createParamDecorator(
  (property: keyof AuthenticatedSession | undefined, context: ExecutionContext) => {
    const session = sessionOf(context.switchToHttp().getRequest<object>());
    return property && session ? session[property] : session;
  },
);
