import { Injectable, Logger } from '@nestjs/common';
import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { SessionEvents } from '@tessera/session';
import type { SessionEvent } from '@tessera/session';
import { Client } from 'pg';
import type { Notification } from 'pg';
import type { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';

/** What the demo pushes to a user's sockets. */
export type UserSessionEventType = 'session.created' | 'session.revoked';

/** One session event of a user, as relayed between instances. */
export interface UserSessionEvent {
  type: UserSessionEventType;
  userId: string;
  at: string;
  /** For `session.revoked`: why (`logout`, `logout_all`, `admin`, `refresh_token_reused`, ...). */
  reason?: string;
}

const CHANNEL = 'tessera_demo_user_session_events';
const RECONNECT_MS = 1_000;

/** The library's events that tell a user a session of theirs began or ended. */
function userEventOf(event: SessionEvent): UserSessionEvent | undefined {
  if (!event.userId) return undefined;
  const at = event.at.toISOString();
  switch (event.type) {
    case 'session.created':
      return { type: 'session.created', userId: event.userId, at };
    case 'session.revoked':
    case 'session.evicted':
    case 'session.reissued':
    case 'refresh_token.reused':
      return { type: 'session.revoked', userId: event.userId, at, reason: String(event.reason ?? event.type) };
    default:
      return undefined;
  }
}

/**
 * Carries users' session events (`SessionEvents` are local to the instance that made the
 * change) to every instance, through PostgreSQL `NOTIFY` on a channel of ours, which each
 * instance `LISTEN`s to on a connection of its own (PostgreSQL is always there, whichever
 * store holds the sessions). An instance hears its own events the same way, so each event
 * is delivered once per instance. Events sent while an instance's listening connection is
 * down are not replayed: they are notifications for a UI, not the revocation itself (a
 * revoked session's sockets are closed by the library, from the store's own feed).
 */
@Injectable()
export class SessionEventRelay implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('SessionEventRelay');
  private readonly receivers = new Set<(event: UserSessionEvent) => void>();
  private client: Client | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly events: SessionEvents,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.listen();
    this.unsubscribe = this.events.subscribe((event) => {
      const relayed = userEventOf(event);
      if (relayed) this.publish(relayed);
    });
  }

  /** Calls `receiver` with every user session event, from every instance; returns a function that removes it. */
  receive(receiver: (event: UserSessionEvent) => void): () => void {
    this.receivers.add(receiver);
    return () => this.receivers.delete(receiver);
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private publish(event: UserSessionEvent): void {
    this.dataSource.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify(event)]).catch((error: unknown) => {
      this.logger.warn(`Could not relay a session event (${error instanceof Error ? error.name : typeof error})`);
    });
  }

  private async listen(): Promise<void> {
    const client = new Client({ connectionString: this.config.databaseUrl });
    const retry = () => {
      if (this.client !== client || this.closed) return;
      this.client = undefined;
      client.end().catch(() => undefined);
      this.logger.warn('Lost the session event channel; reconnecting');
      this.scheduleRetry();
    };
    client.on('error', retry);
    client.on('end', retry);
    client.on('notification', (message: Notification) => this.deliver(message.payload));
    this.client = client;
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
  }

  private scheduleRetry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.listen().catch(() => {
        this.client?.end().catch(() => undefined);
        this.client = undefined;
        if (!this.closed) this.scheduleRetry();
      });
    }, RECONNECT_MS);
    this.retryTimer.unref();
  }

  private deliver(payload: string | undefined): void {
    let event: UserSessionEvent;
    try {
      event = JSON.parse(payload ?? '') as UserSessionEvent;
    } catch {
      return;
    }
    for (const receiver of this.receivers) receiver(event);
  }
}
