import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { Public } from '../../src/lib/decorators/public.decorator';
import { SessionEndpoints } from '../../src/lib/services/session-endpoints.service';

/**
 * The app's own part of the session routes, for specs: a login that checks nothing (the
 * user id and roles come in the body, default `user-1` with role `user`) and calls
 * `SessionEndpoints.login`, as an app's login handler does after checking a password.
 */
@Controller('auth')
export class TestLoginController {
  constructor(private readonly endpoints: SessionEndpoints) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  login(@Body() body: { user?: string; roles?: string[] }, @Req() request: object, @Res({ passthrough: true }) response: object) {
    const id = body?.user ?? 'user-1';
    return this.endpoints.login(request, response, { id, roles: body?.roles ?? ['user'], profile: { email: `${id}@example.com` } });
  }
}
