import { createParamDecorator } from '@nestjs/common';
import type { ExecutionContext, PipeTransform, Type } from '@nestjs/common';
import type { AuthenticatedSession } from '../interfaces/authenticated.interface';
import { principalCarrierOf } from '../utils/execution-context.util';
import { sessionOf } from '../utils/session-request.util';

// Typed by hand: the inferred type names Nest 12's `ParameterDecoratorOptions`, which Nest 11's
// typings lack, so the shipped .d.ts would not compile in a Nest 11 app with skipLibCheck off.
/** Injects the authenticated session (`{ id, userId, transport, ... }`), or one of its properties: on HTTP routes, GraphQL resolvers and socket messages. */
export const CurrentSession: (
  ...dataOrPipes: (keyof AuthenticatedSession | PipeTransform | Type<PipeTransform> | undefined)[]
) => ParameterDecorator = createParamDecorator(
  (property: keyof AuthenticatedSession | undefined, context: ExecutionContext) => {
    const carrier = principalCarrierOf(context);
    const session = carrier && sessionOf(carrier);
    return property && session ? session[property] : session;
  },
);
