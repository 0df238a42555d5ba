import { createParamDecorator } from '@nestjs/common';
import type { ExecutionContext } from '@nestjs/common';
import { SESSION_REQUEST_KEY } from '../constants';
import type { AuthenticatedSession } from '../interfaces/authenticated.interface';

/** Injects the authenticated session (`{ id, userId, transport, ... }`), or one of its properties. */
export const CurrentSession = createParamDecorator(
  (property: keyof AuthenticatedSession | undefined, context: ExecutionContext) => {
    const request = context.switchToHttp().getRequest<Record<string, AuthenticatedSession | undefined>>();
    const session = request[SESSION_REQUEST_KEY];
    return property && session ? session[property] : session;
  },
);
