import { Injectable } from '@nestjs/common';
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { SESSION_REQUEST_KEY } from '../constants';
import type { AuthenticatedSession } from '../interfaces/authenticated.interface';
import { SessionActivityService } from '../services/session-activity.service';

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
      const session = context.switchToHttp().getRequest<Record<string, AuthenticatedSession | undefined>>()[
        SESSION_REQUEST_KEY
      ];
      if (session) this.activity.record(session.id);
    }
    return next.handle();
  }
}
