import { Body, Controller, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Public, SessionClock, SessionEndpoints, SessionEvents, sessionContextOf } from '@tessera/session';
import type { SessionLoginBody } from '@tessera/session';
import type { DemoRequest, DemoResponse } from '../common/http';
import { STORE_UNAVAILABLE_RESPONSE } from '../common/api-docs';
import { UsersService } from '../users/users.service';
import type { PublicUser } from '../users/users.service';
import { CredentialsDto } from './auth.dto';
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

  /** Audit: the library never sees credentials, so the app reports failed logins. */
  private loginFailed(request: DemoRequest, reason: string): void {
    this.events.emit({
      type: 'login.failed',
      at: this.clock.now(),
      userId: null,
      sessionFingerprint: null,
      reason,
      ...sessionContextOf(request),
    });
  }
}
