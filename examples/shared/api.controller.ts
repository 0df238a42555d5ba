import { Controller, Get } from '@nestjs/common';
import { CurrentSession, CurrentUser, Public, Roles } from '@tessera/session';
import type { AuthenticatedSession, AuthenticatedUser } from '@tessera/session';

/** The app's own routes: public, any live session, and admins only. */
@Controller()
export class ApiController {
  @Public()
  @Get('health')
  health() {
    return { ok: true };
  }

  @Get('api/me')
  me(@CurrentUser() user: AuthenticatedUser, @CurrentSession() session: AuthenticatedSession) {
    return { id: user.id, roles: user.roles, sessionId: session.id };
  }

  @Roles('admin')
  @Get('api/admin/report')
  report(@CurrentUser('id') adminId: string) {
    return { generatedFor: adminId, generatedAt: new Date().toISOString() };
  }
}
