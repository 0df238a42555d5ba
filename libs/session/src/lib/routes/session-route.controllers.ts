import { Delete, Get, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { SessionView } from '../dto/session-view.dto';
import { Public } from '../decorators/public.decorator';
import type { HttpRequest, HttpResponse } from '../interfaces/session-http-adapter.interface';
import { SessionEndpoints } from '../services/session-endpoints.service';
import type { CsrfTokenBody, SessionLoginBody } from '../services/session-endpoints.service';

// The route classes below are templates: `SessionRoutesModule.forRoot` mounts a subclass of
// each enabled one with its own `@Controller(prefix)` and guards, so two apps (or two
// configurations) in one process never share a path or a guard list. Handlers only call
// `SessionEndpoints`, so an app writing its own routes gets the same behaviour.

/** `GET <prefix>/csrf`: a CSRF token, in the body and its cookie. */
export class CsrfRoute {
  constructor(@Inject(SessionEndpoints) protected readonly endpoints: SessionEndpoints) {}

  @Public()
  @Get('csrf')
  csrf(@Req() request: HttpRequest, @Res({ passthrough: true }) response: HttpResponse): Promise<CsrfTokenBody> {
    return this.endpoints.csrfToken(request, response);
  }
}

/** `POST <prefix>/refresh`: new tokens for a refresh token. */
export class RefreshRoute {
  constructor(@Inject(SessionEndpoints) protected readonly endpoints: SessionEndpoints) {}

  @Public()
  @Post('refresh')
  @HttpCode(200)
  refresh(@Req() request: HttpRequest, @Res({ passthrough: true }) response: HttpResponse): Promise<SessionLoginBody> {
    return this.endpoints.refresh(request, response);
  }
}

/** `POST <prefix>/logout`: ends the caller's session. */
export class LogoutRoute {
  constructor(@Inject(SessionEndpoints) protected readonly endpoints: SessionEndpoints) {}

  @Post('logout')
  @HttpCode(204)
  logout(@Req() request: HttpRequest, @Res({ passthrough: true }) response: HttpResponse): Promise<void> {
    return this.endpoints.logout(request, response);
  }
}

/** `POST <prefix>/logout-all`: ends every session of the caller (or all but this one). */
export class LogoutAllRoute {
  constructor(@Inject(SessionEndpoints) protected readonly endpoints: SessionEndpoints) {}

  @Post('logout-all')
  @HttpCode(204)
  logoutAll(@Req() request: HttpRequest, @Res({ passthrough: true }) response: HttpResponse): Promise<void> {
    return this.endpoints.logoutAll(request, response);
  }
}

/** `GET <prefix>/sessions`: the caller's live sessions. */
export class SessionsRoute {
  constructor(@Inject(SessionEndpoints) protected readonly endpoints: SessionEndpoints) {}

  @Get('sessions')
  list(@Req() request: HttpRequest, @Res({ passthrough: true }) response: HttpResponse): Promise<SessionView[]> {
    return this.endpoints.listSessions(request, response);
  }
}

/** `DELETE <prefix>/sessions/:id`: ends one of the caller's sessions. */
export class RevokeSessionRoute {
  constructor(@Inject(SessionEndpoints) protected readonly endpoints: SessionEndpoints) {}

  @Delete('sessions/:id')
  @HttpCode(204)
  revoke(
    @Param('id') id: string,
    @Req() request: HttpRequest,
    @Res({ passthrough: true }) response: HttpResponse,
  ): Promise<void> {
    return this.endpoints.revokeSession(request, response, id);
  }
}
