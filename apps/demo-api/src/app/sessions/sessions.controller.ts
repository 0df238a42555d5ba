import { Controller, Delete, Get, HttpCode, Param, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentSession, SESSION_ID_PATTERN, SessionService, SessionTransportService, sessionContextOf } from '@tessera/session';
import type { AuthenticatedSession } from '@tessera/session';
import type { Request, Response } from 'express';
import { SessionNotFoundException } from './session-not-found.exception';
import { SessionView, toSessionView } from './session-view';
import { UNAUTHORIZED_CODES } from '../common/api-docs';

/** The caller's own sessions: list them, end one. */
@ApiTags('sessions')
@ApiBearerAuth()
@ApiCookieAuth('access-cookie')
@Controller('auth/sessions')
export class SessionsController {
  constructor(
    private readonly sessions: SessionService,
    private readonly transport: SessionTransportService,
  ) {}

  @Get()
  @ApiOperation({ summary: "The caller's live sessions", description: 'Oldest first; `current` marks the session making the request.' })
  @ApiResponse({ status: 200, type: [SessionView] })
  @ApiResponse({ status: 401, description: UNAUTHORIZED_CODES })
  async list(
    @CurrentSession() session: AuthenticatedSession,
    @Res({ passthrough: true }) response: Response,
  ): Promise<SessionView[]> {
    // Where and when the user signs in is personal data: no shared cache may keep it.
    this.transport.noStore(response);
    const records = await this.sessions.listForUser(session.userId);
    return records.map((record) => toSessionView(record, session.id));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiParam({ name: 'id', description: 'Session id, as listed', schema: { type: 'string', pattern: SESSION_ID_PATTERN.source } })
  @ApiOperation({
    summary: 'End one of the caller\'s sessions',
    description: 'Ending the current session also clears its cookies, like logout.',
  })
  @ApiResponse({ status: 204, description: 'Session revoked' })
  @ApiResponse({ status: 401, description: UNAUTHORIZED_CODES })
  @ApiResponse({
    status: 404,
    description: '`session_not_found`: not a session of the caller, unknown, already revoked, or not a session id',
  })
  async revoke(
    @Param('id') id: string,
    @CurrentSession() session: AuthenticatedSession,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<void> {
    // Anything but a session id is answered 404 without reaching the store.
    if (!SESSION_ID_PATTERN.test(id)) throw new SessionNotFoundException();
    if (!(await this.sessions.revokeOwned(session.userId, id, 'user_revoked', sessionContextOf(request)))) {
      throw new SessionNotFoundException();
    }
    if (id === session.id) this.transport.clear(response);
  }
}
