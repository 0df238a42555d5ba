import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentSession, CurrentUser, SessionUnauthorizedException } from '@tessera/session';
import type { AuthenticatedUser } from '@tessera/session';
import { UsersService } from '../users/users.service';

/** The signed-in user. */
@ApiTags('me')
@ApiBearerAuth()
@ApiCookieAuth('access-cookie')
@Controller('api/me')
export class MeController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiOperation({ summary: 'Who am I' })
  @ApiResponse({ status: 200, description: '`{ id, email, roles, sessionId }`' })
  @ApiResponse({ status: 401, description: '`token_missing`, `token_invalid`, `token_expired`, `session_revoked`, `session_expired`' })
  async me(@CurrentUser() user: AuthenticatedUser, @CurrentSession('id') sessionId: string) {
    const profile = await this.users.findPublic(user.id);
    if (!profile) throw new SessionUnauthorizedException('token_invalid');
    return { id: profile.id, email: profile.email, roles: user.roles, sessionId };
  }
}
