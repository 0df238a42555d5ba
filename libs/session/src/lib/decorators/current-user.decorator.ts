import { createParamDecorator } from '@nestjs/common';
import type { ExecutionContext } from '@nestjs/common';
import type { AuthenticatedUser } from '../interfaces/authenticated.interface';

/** Injects the authenticated user (`{ id, roles }`), or one of its properties. */
export const CurrentUser = createParamDecorator(
  (property: keyof AuthenticatedUser | undefined, context: ExecutionContext) => {
    const user = context.switchToHttp().getRequest<{ user?: AuthenticatedUser }>().user;
    return property && user ? user[property] : user;
  },
);
