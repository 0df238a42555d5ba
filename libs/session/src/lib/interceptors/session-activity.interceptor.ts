import { Injectable } from '@nestjs/common';
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { SessionActivityService } from '../services/session-activity.service';
import { principalCarrierOf } from '../utils/execution-context.util';
import { sessionOf } from '../utils/session-request.util';

/**
 * Records activity of the authenticated session (see `SessionActivityService`). Mount it
 * with `{ provide: APP_INTERCEPTOR, useExisting: SessionActivityInterceptor }`; it covers
 * HTTP routes, GraphQL resolvers and WebSocket messages. It never
 * delays or fails the request.
 */
@Injectable()
export class SessionActivityInterceptor implements NestInterceptor {
  constructor(private readonly activity: SessionActivityService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    // HTTP routes, GraphQL resolvers and socket messages alike (the principal's carrier).
    const carrier = principalCarrierOf(context);
    const session = carrier && sessionOf(carrier);
    if (session) this.activity.record(session.id);
    return next.handle();
  }
}
