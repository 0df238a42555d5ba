import { Body, Controller, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  CurrentSession,
  Public,
  SessionClock,
  SessionEndpoints,
  SessionEvents,
  sessionContextOf,
} from '@tessera/session';
import type { AuthenticatedSession, ReauthenticatedBody, SessionLoginBody } from '@tessera/session';
import type { DemoRequest, DemoResponse } from '../common/http';
import { STORE_UNAVAILABLE_RESPONSE, UNAUTHORIZED_CODES } from '../common/api-docs';
import { UsersService } from '../users/users.service';
import type { PublicUser } from '../users/users.service';
import { CredentialsDto, ReauthenticateDto } from './auth.dto';
import { InvalidCredentialsException } from './invalid-credentials.exception';
import { LoginRateLimiter, TooManyLoginAttemptsException } from './login-rate-limiter';

/**
 * Register and login: the app's own part, since only the app knows its users. Every
 * other session route (csrf, refresh, logout, logout-all, sessions) comes from
 * `SessionRoutesModule`.
 */
@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly users: UsersService,
    private readonly endpoints: SessionEndpoints,
    private readonly limiter: LoginRateLimiter,
    private readonly events: SessionEvents,
    @Inject(SessionClock) private readonly clock: SessionClock,
  ) {}

  @Public()
  @Post('register')
  @HttpCode(201)
  @ApiOperation({ summary: 'Create an account' })
  @ApiResponse({ status: 201, description: '`{ id, email }`' })
  @ApiResponse({ status: 400, description: 'Invalid email, or a password shorter than 8 or longer than 128' })
  @ApiResponse({ status: 409, description: '`email_taken`' })
  async register(@Body() body: CredentialsDto): Promise<{ id: string; email: string }> {
    const user = await this.users.register(body.email, body.password);
    return { id: user.id, email: user.email };
  }

  @Public()
  @Post('login')
  @HttpCode(200)
  @ApiHeader({ name: 'X-Auth-Mode', required: false, description: 'Send `bearer` to get tokens in the body instead of cookies.' })
  @ApiOperation({ summary: 'Start a new session' })
  @ApiResponse({ status: 200, description: 'Cookie mode: `{ user, session, csrfToken, expiresIn }` (seconds until the access token expires) and cookies. Bearer mode: tokens in the body.' })
  @ApiResponse({ status: 401, description: '`invalid_credentials`, the same for an unknown email and a wrong password' })
  @ApiResponse({ status: 429, description: '`too_many_attempts`' })
  @ApiResponse(STORE_UNAVAILABLE_RESPONSE)
  async login(
    @Body() body: CredentialsDto,
    @Req() request: DemoRequest,
    @Res({ passthrough: true }) response: DemoResponse,
  ): Promise<SessionLoginBody> {
    let user: PublicUser | null;
    try {
      user = await this.limiter.guard(body.email, request.ip, () => this.users.verifyCredentials(body.email, body.password));
    } catch (error) {
      if (error instanceof TooManyLoginAttemptsException) this.loginFailed(request, 'rate_limited');
      throw error;
    }
    if (!user) {
      this.loginFailed(request, 'invalid_credentials');
      throw new InvalidCredentialsException();
    }
    return this.endpoints.login(request, response, { id: user.id, roles: user.roles, profile: { email: user.email } });
  }

  @Post('reauthenticate')
  @HttpCode(200)
  @ApiBearerAuth()
  @ApiCookieAuth('access-cookie')
  @ApiOperation({
    summary: 'Prove the password again (step-up)',
    description:
      'For a signed-in session: checks the password and marks the session freshly authenticated, so that the routes ' +
      'that need a fresh session (password change, admin routes: `FRESH_SESSION_MAX_AGE`) accept it again (OWASP ASVS V7, ' +
      'OIDC Core `auth_time`). Same session id, same refresh token; the access token is re-issued with the new `auth_time`. ' +
      'A wrong password counts toward the login rate limit like a failed login. Audit event `session.reauthenticated`.',
  })
  @ApiResponse({ status: 204, description: 'Cookie mode: re-authenticated; a new access cookie and CSRF cookie are set' })
  @ApiResponse({ status: 200, description: 'Bearer mode: re-authenticated; `{ accessToken, tokenType, expiresIn }` (the refresh token is unchanged)' })
  @ApiResponse({ status: 400, description: '`validation_failed`' })
  @ApiResponse({ status: 401, description: `\`invalid_credentials\`: wrong password; or not signed in: ${UNAUTHORIZED_CODES}` })
  @ApiResponse({ status: 429, description: '`too_many_attempts`' })
  @ApiResponse(STORE_UNAVAILABLE_RESPONSE)
  async reauthenticate(
    @Body() body: ReauthenticateDto,
    @CurrentSession() session: AuthenticatedSession,
    @Req() request: DemoRequest,
    @Res({ passthrough: true }) response: DemoResponse,
  ): Promise<ReauthenticatedBody | undefined> {
    const profile = await this.users.findPublic(session.userId);
    // Counted under the account's login key: guessing here is guessing at the login.
    const user = await this.limiter.guard(profile?.email ?? `user:${session.userId}`, request.ip, () =>
      this.users.verifyPassword(session.userId, body.password),
    );
    if (!user) {
      this.loginFailed(request, 'reauthentication_failed', session.userId);
      throw new InvalidCredentialsException('The password is wrong');
    }
    const delivered = await this.endpoints.reauthenticated(request, response);
    if (session.transport === 'bearer') return delivered;
    response.status(204);
    return undefined;
  }

  /** Audit: the library never sees credentials, so the app reports failed logins. */
  private loginFailed(request: DemoRequest, reason: string, userId: string | null = null): void {
    this.events.emit({
      type: 'login.failed',
      at: this.clock.now(),
      userId,
      sessionFingerprint: null,
      reason,
      ...sessionContextOf(request),
    });
  }
}
