import { UseFilters } from '@nestjs/common';
import type { OnModuleDestroy } from '@nestjs/common';
import { SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { OnGatewayConnection, OnGatewayInit } from '@nestjs/websockets';
import { CurrentSession, CurrentUser, Roles, SessionSockets, SessionWsExceptionFilter, principalOf } from '@tessera/session';
import type { AuthenticatedUser } from '@tessera/session';
import type { Namespace, Socket } from 'socket.io';
import { SessionEventRelay } from './session-event-relay';

const userRoom = (userId: string) => `user:${userId}`;

/**
 * `/ws` (socket.io, on the HTTP server's port): a socket authenticates at its handshake
 * (`auth.token`, or the access cookie from an allowed origin), receives its user's session
 * events (`session.created`, `session.revoked` `{ at, reason }`) from every instance, and is
 * closed with `session.ended` `{ code }` when its session is revoked or its access token
 * expires (see `SessionSockets`). The global `SessionGuard` checks every message.
 */
@WebSocketGateway({ namespace: '/ws' })
@UseFilters(SessionWsExceptionFilter)
export class SessionEventsGateway implements OnGatewayInit<Namespace>, OnGatewayConnection<Socket>, OnModuleDestroy {
  @WebSocketServer() private server!: Namespace;
  private readonly stopRelay: () => void;

  constructor(
    private readonly sockets: SessionSockets,
    relay: SessionEventRelay,
  ) {
    this.stopRelay = relay.receive(({ type, userId, at, reason }) => {
      this.server?.to(userRoom(userId)).emit(type, reason === undefined ? { at } : { at, reason });
    });
  }

  afterInit(server: Namespace): void {
    this.sockets.attach(server);
  }

  handleConnection(socket: Socket): void {
    const principal = principalOf(socket);
    if (principal) void socket.join(userRoom(principal.user.id));
  }

  onModuleDestroy(): void {
    this.stopRelay();
  }

  /** The socket's user and session. */
  @SubscribeMessage('me')
  me(@CurrentUser() user: AuthenticatedUser, @CurrentSession('id') sessionId: string) {
    return { id: user.id, roles: user.roles, sessionId };
  }

  /** Admins only: shows `@Roles()` on a message handler. */
  @Roles('admin')
  @SubscribeMessage('admin.ping')
  adminPing() {
    return { pong: true };
  }
}
