import { Controller, Get, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentSession, SESSION_OPENAPI_SECURITY, SessionEndpoints } from '@tessera/session';
import type { AuthenticatedSession } from '@tessera/session';
import { STORE_UNAVAILABLE_RESPONSE, UNAUTHORIZED_CODES } from '../common/api-docs';
import type { DemoRequest, DemoResponse } from '../common/http';
import { SessionListItem, SessionListService } from './session-list.service';

/**
 * `GET /auth/sessions`: the library's list (`SessionEndpoints.listSessions`: the caller's
 * live sessions, `current`, `device`, `no-store`), with the demo's `contextChangedAt`.
 * The library's own route is turned off in `AppModule` (`routes: { sessions: false }`).
 */
@ApiTags('sessions')
@Controller('auth')
export class SessionsController {
  constructor(
    private readonly endpoints: SessionEndpoints,
    private readonly list: SessionListService,
  ) {}

  @Get('sessions')
  @ApiBearerAuth(SESSION_OPENAPI_SECURITY.bearer)
  @ApiCookieAuth(SESSION_OPENAPI_SECURITY.accessCookie)
  @ApiOperation({
    summary: "The caller's live sessions",
    description:
      'Oldest first; `current` marks the session making the request; `device` names browser, OS and device type; ' +
      '`contextChangedAt` is when a refresh last came from another IP address or user agent than at login.',
  })
  @ApiResponse({ status: 200, type: [SessionListItem] })
  @ApiResponse({ status: 401, description: UNAUTHORIZED_CODES })
  @ApiResponse(STORE_UNAVAILABLE_RESPONSE)
  async sessions(
    @Req() request: DemoRequest,
    @Res({ passthrough: true }) response: DemoResponse,
    @CurrentSession() session: AuthenticatedSession,
  ): Promise<SessionListItem[]> {
    return this.list.withContextChanges(session.userId, await this.endpoints.listSessions(request, response));
  }
}
