import { Injectable } from '@nestjs/common';
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { SessionActivityService } from '../services/session-activity.service';
import { sessionOf } from '../utils/session-request.util';

/**
 * Records activity of the authenticated session (see `SessionActivityService`). Mount it
 * with `{ provide: APP_INTERCEPTOR, useExisting: SessionActivityInterceptor }`. It never
 * delays or fails the request.
 */
@Injectable()
export class SessionActivityInterceptor implements NestInterceptor {
  constructor(private readonly activity: SessionActivityService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const session = sessionOf(context.switchToHttp().getRequest<object>());
      if (session) this.activity.record(session.id);
    }
    return next.handle();
  }
}
