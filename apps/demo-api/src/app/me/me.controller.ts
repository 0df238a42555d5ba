import { BadRequestException, Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  CurrentSession,
  CurrentUser,
  RequireFreshSession,
  SessionService,
  SessionTransportService,
  SessionUnauthorizedException,
  principalOf,
  sessionContextOf,
} from '@tessera/session';
import type { AuthenticatedSession, AuthenticatedUser } from '@tessera/session';
import type { DemoRequest, DemoResponse } from '../common/http';
import { InvalidCredentialsException } from '../auth/invalid-credentials.exception';
import { LoginRateLimiter } from '../auth/login-rate-limiter';
import { UsersService } from '../users/users.service';
import type { PublicUser } from '../users/users.service';
import { ChangePasswordDto } from './me.dto';
import { REAUTHENTICATION_REQUIRED, STORE_UNAVAILABLE_RESPONSE, UNAUTHORIZED_CODES } from '../common/api-docs';

/** What `GET /api/me` answers. */
export interface MeBody {
  id: string;
  email: string;
  roles: string[];
  sessionId: string;
}

function meBody(profile: PublicUser, user: AuthenticatedUser, sessionId: string): MeBody {
  return { id: profile.id, email: profile.email, roles: user.roles, sessionId };
}

/** The signed-in user. */
@ApiTags('me')
@ApiBearerAuth()
@ApiCookieAuth('access-cookie')
@ApiResponse(STORE_UNAVAILABLE_RESPONSE)
@Controller('api/me')
export class MeController {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionService,
    private readonly transport: SessionTransportService,
    private readonly limiter: LoginRateLimiter,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Who am I' })
  @ApiResponse({ status: 200, description: '`{ id, email, roles, sessionId }`' })
  @ApiResponse({ status: 401, description: UNAUTHORIZED_CODES })
  me(@Req() request: DemoRequest): MeBody | Promise<MeBody> {
    // The principal straight from the request rather than through @CurrentUser() and
    // @CurrentSession(): Nest passes every custom parameter decorator's value through the
    // global pipes, one promise per parameter, which on Fastify cost this route (the
    // benchmark's) about 0.05x of the baseline's throughput. SessionGuard put it there.
    const principal = principalOf(request);
    if (!principal) throw new SessionUnauthorizedException('token_missing');
    const { user } = principal;
    const sessionId = principal.session.id;
    // The profile is nearly always cached: answer without a promise then.
    const cached = this.users.cachedPublic(user.id);
    if (cached) return meBody(cached, user, sessionId);
    return this.users.findPublic(user.id).then((profile) => {
      if (!profile) throw new SessionUnauthorizedException('token_invalid');
      return meBody(profile, user, sessionId);
    });
  }

  @Post('password')
  @HttpCode(200)
  // A stolen session alone must not be enough to take the account over (OWASP ASVS V7).
  @RequireFreshSession()
  @ApiOperation({
    summary: 'Change the password',
    description:
      'Revokes every other session of the user and re-issues this one under a new id (OWASP ASVS V7.2.4). ' +
      'Cookie mode: 204 with new cookies. Bearer mode: 200 with the new tokens (same shape as login), ' +
      'since a bodiless answer would leave a bearer client without working tokens. ' +
      'Needs a fresh session (`FRESH_SESSION_MAX_AGE`); the re-issued session stays as fresh as this one was.',
  })
  @ApiResponse({ status: 204, description: 'Cookie mode: changed; new session cookies set' })
  @ApiResponse({ status: 200, description: 'Bearer mode: changed; `{ accessToken, refreshToken, tokenType, expiresIn, session }`' })
  @ApiResponse({ status: 400, description: '`validation_failed`, `password_unchanged`' })
  @ApiResponse({ status: 401, description: `\`invalid_credentials\`: wrong current password; ${REAUTHENTICATION_REQUIRED}; ${UNAUTHORIZED_CODES}` })
  @ApiResponse({ status: 429, description: '`too_many_attempts`' })
  async changePassword(
    @Body() body: ChangePasswordDto,
    @CurrentUser() user: AuthenticatedUser,
    @CurrentSession() session: AuthenticatedSession,
    @Req() request: DemoRequest,
    @Res({ passthrough: true }) response: DemoResponse,
  ) {
    if (body.currentPassword === body.newPassword) {
      throw new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        message: 'The new password must differ from the current one',
        code: 'password_unchanged',
      });
    }
    const changed = await this.limiter.guard(`user:${user.id}`, request.ip, () =>
      this.users.changePassword(user.id, body.currentPassword, body.newPassword),
    );
    if (!changed) throw new InvalidCredentialsException('The current password is wrong');
    const context = sessionContextOf(request);
    await this.sessions.revokeAllForUser(user.id, 'password_changed', session.id, context);
    const issued = await this.sessions.reissue(session.id, context);
    const delivered = this.transport.deliver(request, response, issued, session.transport);
    if (session.transport === 'bearer') return delivered;
    response.status(204);
    return undefined;
  }
}
