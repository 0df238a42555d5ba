import { BadRequestException, Body, Controller, HttpCode, Post, Req, Res, UnauthorizedException } from '@nestjs/common';
import { Public, SessionEndpoints } from '@tessera/session';
import type { Request, Response } from 'express';
import { UsersService } from './users.service.js';

/** Email and password of a body, or a 400 naming the bad fields. */
function credentialsOf(body: unknown): { email: string; password: string } {
  const { email, password } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const fields = [
    ...(typeof email === 'string' && /^[^@\s]+@[^@\s]+$/.test(email) && email.length <= 254 ? [] : ['email']),
    ...(typeof password === 'string' && password.length >= 8 && password.length <= 128 ? [] : ['password']),
  ];
  if (fields.length > 0) {
    throw new BadRequestException({
      statusCode: 400,
      error: 'Bad Request',
      message: fields.map((field) => `${field} is invalid`),
      code: 'validation_failed',
      fields,
    });
  }
  return { email: email as string, password: password as string };
}

/** Register and login: the routes the app writes itself. Refresh, logout and the rest come from `SessionRoutesModule`. */
@Controller('auth')
export class AuthController {
  constructor(
    private readonly users: UsersService,
    private readonly endpoints: SessionEndpoints,
  ) {}

  @Public()
  @Post('register')
  async register(@Body() body: unknown) {
    const { email, password } = credentialsOf(body);
    const { id, email: stored } = await this.users.register(email, password);
    return { id, email: stored };
  }

  @Public()
  @Post('login')
  @HttpCode(200)
  async login(@Body() body: unknown, @Req() request: Request, @Res({ passthrough: true }) response: Response) {
    const { email, password } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const user = typeof email === 'string' && typeof password === 'string' ? await this.users.verify(email, password) : null;
    if (!user) {
      throw new UnauthorizedException({
        statusCode: 401,
        error: 'Unauthorized',
        message: 'Invalid email or password',
        code: 'invalid_credentials',
      });
    }
    // Cookies or a JSON body, as the request asks (X-Auth-Mode: bearer); always a new session.
    return this.endpoints.login(request, response, user);
  }
}
