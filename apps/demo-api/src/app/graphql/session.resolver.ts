import { Args, Context, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import {
  CurrentSession,
  CurrentUser,
  Public,
  Roles,
  SessionEndpoints,
  SessionService,
  SessionUnauthorizedException,
  toSessionViews,
} from '@tessera/session';
import type { AuthenticatedSession, AuthenticatedUser } from '@tessera/session';
import { validationFailed } from '../common/validation';
import { SessionListService } from '../sessions/session-list.service';
import { UsersService } from '../users/users.service';
import { MeModel, SessionModel } from './graphql.models';
import type { DemoGraphqlContext } from './graphql.context';
import { responseOf } from './graphql.context';

/** The demo's version, answered by the public `version` query. */
export const DEMO_VERSION = '0.1.0';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/**
 * The GraphQL face of the REST routes: the same services, guards (the global
 * `SessionGuard` and `CsrfGuard`) and error codes (`sessionGraphqlFormatError`).
 */
@Resolver()
export class SessionResolver {
  constructor(
    private readonly endpoints: SessionEndpoints,
    private readonly sessionService: SessionService,
    private readonly users: UsersService,
    private readonly sessionList: SessionListService,
  ) {}

  /** Public: the bench's baseline for GraphQL and a liveness probe. */
  @Public()
  @Query(() => String, { description: 'The API version (public)' })
  version(): string {
    return DEMO_VERSION;
  }

  @Query(() => MeModel, { description: 'The signed-in user, as GET /api/me' })
  me(@CurrentUser() user: AuthenticatedUser, @CurrentSession('id') sessionId: string): MeModel | Promise<MeModel> {
    // As MeController: the profile is nearly always cached, so no promise then.
    const cached = this.users.cachedPublic(user.id);
    if (cached) return { id: cached.id, email: cached.email, roles: user.roles, sessionId };
    return this.users.findPublic(user.id).then((profile) => {
      // The user was deleted after the token was issued: as GET /api/me.
      if (!profile) throw new SessionUnauthorizedException('token_invalid');
      return { id: profile.id, email: profile.email, roles: user.roles, sessionId };
    });
  }

  @Query(() => [SessionModel], { description: "The caller's live sessions, oldest first, as GET /auth/sessions" })
  async sessions(@Context() context: DemoGraphqlContext, @CurrentSession('userId') userId: string): Promise<SessionModel[]> {
    return this.sessionList.withContextChanges(userId, await this.endpoints.listSessions(context.req, responseOf(context)));
  }

  @Mutation(() => Boolean, {
    description:
      "Revokes one of the caller's sessions, as DELETE /auth/sessions/:id (session_not_found for any other id); " +
      'revoking the current one also clears its cookies',
  })
  async revokeSession(@Args('id', { type: () => ID }) id: string, @Context() context: DemoGraphqlContext): Promise<boolean> {
    await this.endpoints.revokeSession(context.req, responseOf(context), id);
    return true;
  }

  @Roles('admin')
  @Query(() => [SessionModel], { description: "A user's live sessions, as GET /api/admin/users/:id/sessions (role admin)" })
  async userSessions(@Args('userId', { type: () => ID }) userId: string, @CurrentSession() session: AuthenticatedSession): Promise<SessionModel[]> {
    if (!UUID.test(userId)) throw validationFailed(['userId must be a UUID'], ['userId']);
    // Sessions keep the user id as PostgreSQL prints it (lower case), as in AdminController.
    const records = await this.sessionService.listForUser(userId.toLowerCase());
    return this.sessionList.withContextChanges(userId.toLowerCase(), await toSessionViews(records, session.id));
  }
}
