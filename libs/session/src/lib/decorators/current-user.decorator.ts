import { createParamDecorator } from '@nestjs/common';
import type { ExecutionContext, PipeTransform, Type } from '@nestjs/common';
import type { AuthenticatedUser } from '../interfaces/authenticated.interface';
import { principalCarrierOf } from '../utils/execution-context.util';

// Typed by hand: the inferred type names Nest 12's `ParameterDecoratorOptions`, which Nest 11's
// typings lack, so the shipped .d.ts would not compile in a Nest 11 app with skipLibCheck off.
/** Injects the authenticated user (`{ id, roles }`), or one of its properties: on HTTP routes, GraphQL resolvers and socket messages. */
export const CurrentUser: (
  ...dataOrPipes: (keyof AuthenticatedUser | PipeTransform | Type<PipeTransform> | undefined)[]
) => ParameterDecorator = createParamDecorator(
  (property: keyof AuthenticatedUser | undefined, context: ExecutionContext) => {
    const user = (principalCarrierOf(context) as { user?: AuthenticatedUser } | undefined)?.user;
    return property && user ? user[property] : user;
  },
);
