import { Body, Controller, Delete, Get, HttpCode, Param, Put, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentSession, RequireFreshSession, Roles, SessionService, SessionTransportService, sessionContextOf, toSessionViews } from '@tessera/session';
import type { AuthenticatedSession } from '@tessera/session';
import type { DemoRequest, DemoResponse } from '../common/http';
import { FRESH_UNAUTHORIZED_CODES, STORE_UNAVAILABLE_RESPONSE } from '../common/api-docs';
import { uuidParamPipe } from '../common/validation';
import type { PublicUser } from '../users/users.service';
import { UsersService } from '../users/users.service';
import { UserNotFoundException } from '../users/user-not-found.exception';
import { SessionListItem, SessionListService } from '../sessions/session-list.service';
import { RolesDto } from './admin.dto';

const USER_ID = { name: 'id', description: 'User id', schema: { type: 'string', format: 'uuid' } } as const;

/** Other users' sessions and roles, for administrators (role `admin`). */
@ApiTags('admin')
@ApiBearerAuth()
@ApiCookieAuth('access-cookie')
@Roles('admin')
// Acting on other users' sessions and roles needs a recent proof of the admin's password.
@RequireFreshSession()
// Every route takes a user id and needs the role: the same failures for all.
@ApiResponse({ status: 400, description: '`validation_failed`: `id` is not a UUID' })
@ApiResponse({ status: 401, description: FRESH_UNAUTHORIZED_CODES })
@ApiResponse({ status: 403, description: '`forbidden`: the caller lacks the `admin` role' })
@ApiResponse(STORE_UNAVAILABLE_RESPONSE)
@Controller('api/admin/users')
export class AdminController {
  constructor(
    private readonly sessions: SessionService,
    private readonly transport: SessionTransportService,
    private readonly users: UsersService,
    private readonly sessionList: SessionListService,
  ) {}

  @Get(':id/sessions')
  @ApiParam(USER_ID)
  @ApiOperation({
    summary: "A user's live sessions",
    description: 'Oldest first. An unknown user has none. `current` is true only for the admin\'s own session.',
  })
  @ApiResponse({ status: 200, type: [SessionListItem] })
  async list(
    @Param('id', uuidParamPipe('id')) id: string,
    @CurrentSession() session: AuthenticatedSession,
    @Res({ passthrough: true }) response: DemoResponse,
  ): Promise<SessionListItem[]> {
    this.transport.noStore(response);
    const records = await this.sessions.listForUser(userKey(id));
    return this.sessionList.withContextChanges(userKey(id), await toSessionViews(records, session.id));
  }

  @Delete(':id/sessions')
  @HttpCode(204)
  @ApiParam(USER_ID)
  @ApiOperation({
    summary: "Revoke every session of a user",
    description: 'Reason `admin`. An unknown user has nothing to revoke (still 204). Targeting oneself also clears one\'s cookies.',
  })
  @ApiResponse({ status: 204, description: 'Every session of the user revoked' })
  async revokeAll(
    @Param('id', uuidParamPipe('id')) id: string,
    @CurrentSession() session: AuthenticatedSession,
    @Req() request: DemoRequest,
    @Res({ passthrough: true }) response: DemoResponse,
  ): Promise<void> {
    const userId = userKey(id);
    await this.sessions.revokeAllForUser(userId, 'admin', undefined, sessionContextOf(request));
    if (userId === session.userId) this.transport.clear(response);
  }

  @Put(':id/roles')
  @ApiParam(USER_ID)
  @ApiOperation({
    summary: "Replace a user's roles",
    description:
      "Effective at once on every instance (`SessionService.refreshUser`): in `strict` mode at each session's next " +
      'request; in `cached` and `stateless` modes at its next refresh, so access tokens issued before keep the old ' +
      'roles for at most `ACCESS_TOKEN_TTL`.',
  })
  @ApiResponse({ status: 200, description: '`{ id, email, roles }`' })
  @ApiResponse({ status: 404, description: '`user_not_found`' })
  async setRoles(
    @Param('id', uuidParamPipe('id')) id: string,
    @Body() body: RolesDto,
    @Req() request: DemoRequest,
    @Res({ passthrough: true }) response: DemoResponse,
  ): Promise<PublicUser> {
    this.transport.noStore(response);
    const user = await this.users.setRoles(userKey(id), body.roles);
    if (!user) throw new UserNotFoundException();
    await this.sessions.refreshUser(user.id, undefined, sessionContextOf(request));
    return user;
  }
}

/**
 * UUIDs are case-insensitive, but sessions keep the user id as text, as PostgreSQL
 * prints it (lower case): an upper-case id must not silently match nothing.
 */
function userKey(id: string): string {
  return id.toLowerCase();
}
