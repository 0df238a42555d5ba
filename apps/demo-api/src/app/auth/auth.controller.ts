import { Body, Controller, Get, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  CsrfService,
  SessionClock,
  SessionEvents,
  CurrentSession,
  Public,
  SessionService,
  SessionTransportService,
  SessionUnauthorizedException,
  sessionContextOf,
} from '@tessera/session';
import type { AuthenticatedSession } from '@tessera/session';
import type { Request, Response } from 'express';
import { UsersService } from '../users/users.service';
import type { PublicUser } from '../users/users.service';
import { CredentialsDto, LogoutAllDto, RefreshDto } from './auth.dto';
import { InvalidCredentialsException } from './invalid-credentials.exception';
import { LoginRateLimiter, TooManyLoginAttemptsException } from './login-rate-limiter';
import { UNAUTHORIZED_CODES } from '../common/api-docs';

const AUTH_MODE_HEADER = {
  name: 'X-Auth-Mode',
  required: false,
  description: 'Send `bearer` to get tokens in the body instead of cookies.',
};

/** Register, login, refresh and logout, in cookie mode or bearer mode. */
@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionService,
    private readonly transport: SessionTransportService,
    private readonly limiter: LoginRateLimiter,
    private readonly csrf: CsrfService,
    private readonly events: SessionEvents,
    @Inject(SessionClock) private readonly clock: SessionClock,
  ) {}

  @Public()
  @Get('csrf')
  @ApiOperation({
    summary: 'Get a CSRF token',
    description:
      'Sets the readable CSRF cookie and returns the same token; cookie-mode pages send it back in `X-CSRF-Token` ' +
      'on every POST, PUT, PATCH and DELETE. Bound to the current session when there is one.',
  })
  @ApiResponse({ status: 200, description: '`{ csrfToken }`' })
  async csrfToken(@Req() request: Request, @Res({ passthrough: true }) response: Response): Promise<{ csrfToken: string }> {
    this.transport.noStore(response);
    return { csrfToken: this.csrf.issue(response, await this.csrf.verifiedBindingFor(request)) };
  }

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
  @ApiHeader(AUTH_MODE_HEADER)
  @ApiOperation({ summary: 'Start a new session' })
  @ApiResponse({ status: 200, description: 'Cookie mode: `{ user, session }` and cookies. Bearer mode: tokens in the body.' })
  @ApiResponse({ status: 401, description: '`invalid_credentials`, the same for an unknown email and a wrong password' })
  @ApiResponse({ status: 429, description: '`too_many_attempts`' })
  async login(@Body() body: CredentialsDto, @Req() request: Request, @Res({ passthrough: true }) response: Response) {
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
    // Always a new session, whatever the request carried (no fixation).
    const issued = await this.sessions.create({ id: user.id, roles: user.roles }, sessionContextOf(request));
    return { ...this.transport.deliver(request, response, issued), user };
  }

  /** Audit: the library never sees credentials, so the app reports failed logins. */
  private loginFailed(request: Request, reason: string): void {
    this.events.emit({
      type: 'login.failed',
      at: this.clock.now(),
      userId: null,
      sessionFingerprint: null,
      reason,
      ...sessionContextOf(request),
    });
  }

  @Public()
  @Post('refresh')
  @HttpCode(200)
  @ApiHeader(AUTH_MODE_HEADER)
  @ApiCookieAuth('refresh-cookie')
  @ApiOperation({ summary: 'Rotate the refresh token and get a new access token' })
  @ApiResponse({ status: 200, description: 'Same shapes as login' })
  @ApiResponse({ status: 401, description: '`invalid_refresh_token`, `refresh_token_reused`, `session_expired`, `cookie_conflict` (a session cookie sent twice, or cookies of two sessions)' })
  async refresh(
    @Body() _body: RefreshDto,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ) {
    const bearer = this.transport.requestedMode(request) === 'bearer';
    try {
      const context = sessionContextOf(request);
      const issued = await this.sessions.refresh(this.transport.extractRefreshToken(request), context);
      const user = this.users.cachedPublic(issued.session.userId) ?? (await this.users.findPublic(issued.session.userId));
      if (!user) {
        await this.sessions.revoke(issued.session.id, 'logout', context);
        throw new SessionUnauthorizedException('invalid_refresh_token');
      }
      return { ...this.transport.deliver(request, response, issued), user: { ...user, roles: issued.session.roles } };
    } catch (error) {
      if (bearer && error instanceof SessionUnauthorizedException) {
        response.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
      }
      throw error;
    }
  }

  @Post('logout')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiCookieAuth('access-cookie')
  @ApiOperation({ summary: 'End this session' })
  @ApiResponse({ status: 204, description: 'Session revoked, cookies cleared, `Clear-Site-Data: "cookies"`' })
  async logout(
    @CurrentSession() session: AuthenticatedSession,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ) {
    await this.sessions.revoke(session.id, 'logout', sessionContextOf(request));
    this.transport.clear(response);
  }

  @Post('logout-all')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiCookieAuth('access-cookie')
  @ApiOperation({
    summary: 'End every session of the user',
    description: 'With `keepCurrent: true` the session making the request survives and its cookies stay.',
  })
  @ApiResponse({ status: 204, description: 'Sessions revoked; unless `keepCurrent`, cookies cleared and `Clear-Site-Data: "cookies"`' })
  @ApiResponse({ status: 400, description: '`validation_failed`: `keepCurrent` is not a boolean, or an unknown field' })
  @ApiResponse({ status: 401, description: UNAUTHORIZED_CODES })
  async logoutAll(
    @Body() body: LogoutAllDto,
    @CurrentSession() session: AuthenticatedSession,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ) {
    const keepCurrent = body.keepCurrent === true;
    await this.sessions.revokeAllForUser(
      session.userId,
      'logout_all',
      keepCurrent ? session.id : undefined,
      sessionContextOf(request),
    );
    if (!keepCurrent) this.transport.clear(response);
  }
}
