import { Logger } from '@nestjs/common';
import type { RevocationFeedListener, RevocationFeedSubscription } from '@tessera/session';
// The default import: an ES module app gets pg's CommonJS exports as the default on every
// pg 8.x, while named imports need pg's ES module wrapper (8.15 and later).
import pg from 'pg';
import type { Client, ClientConfig, Notification } from 'pg';

/** Timing of the feed's connection; the defaults suit production. */
export interface PostgresRevocationFeedOptions {
  /** First delay before reconnecting after the connection drops (doubles up to `reconnectMaxDelayMs`). Default: 100. */
  reconnectMinDelayMs?: number;
  /** Longest delay between reconnection attempts. Default: 5000. */
  reconnectMaxDelayMs?: number;
  /** How often the idle connection is probed, to notice a silently dead one. Default: 10000. */
  heartbeatMs?: number;
}

const APPLICATION_NAME = 'tessera-revocation-feed';
const HEARTBEAT_TIMEOUT_MS = 5_000;
const TIME_PAYLOAD = /^(\S{1,200}) (\d{1,15})$/;

/**
 * `LISTEN` on a dedicated connection (never one of the app's pool, which would be held
 * forever): on `channel`, whose payloads are revoked session ids (`listener.revoked`),
 * and on `userChannel` when given, whose payloads are ids of users whose roles or claims
 * changed (`listener.userChanged`). It reconnects by itself with backoff, and after every (re)connect, once
 * `LISTEN` is in place, asks the listener to resync: a notification sent while it was
 * down is lost by PostgreSQL, so only the resync can bring that revocation in (and a
 * listener should forget what it remembers of users then: a user change is lost too).
 */
export class PostgresRevocationFeed implements RevocationFeedSubscription {
  /** Last sign of life of the connection: a (re)connect, a notification or a heartbeat that answered (wall clock). */
  lastActivityAt: Date | null = null;
  private client: Client | undefined;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private delayMs: number;
  private readonly logger = new Logger('PostgresRevocationFeed');
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly heartbeatMs: number;

  constructor(
    private readonly connection: ClientConfig,
    private readonly channel: string,
    private readonly listener: RevocationFeedListener,
    options: PostgresRevocationFeedOptions = {},
    private readonly userChannel?: string,
    private readonly timeChannel?: string,
  ) {
    this.minDelayMs = options.reconnectMinDelayMs ?? 100;
    this.maxDelayMs = options.reconnectMaxDelayMs ?? 5_000;
    this.heartbeatMs = options.heartbeatMs ?? 10_000;
    this.delayMs = this.minDelayMs;
  }

  /** Whether `LISTEN` is in place now (false while reconnecting, and after `close`). */
  get connected(): boolean {
    return this.client !== undefined && !this.closed;
  }

  /** Whether `close` was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Connects and listens; rejects when the first connection fails. */
  async start(): Promise<this> {
    await this.connect();
    return this;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeatTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    // Own descriptors, not a spread, which would drop a non-enumerable password (pg-pool hides it).
    const settings = Object.defineProperties({}, Object.getOwnPropertyDescriptors(this.connection)) as ClientConfig;
    const client = new pg.Client(Object.assign(settings, { application_name: APPLICATION_NAME, keepAlive: true }));
    client.on('notification', (message: Notification) => this.deliver(message));
    client.on('error', () => this.dropped(client));
    client.on('end', () => this.dropped(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(this.channel)}`);
      if (this.userChannel) await client.query(`LISTEN ${client.escapeIdentifier(this.userChannel)}`);
      // Only for a listener that measures the propagation lag.
      if (this.timeChannel && this.listener.committed) {
        await client.query(`LISTEN ${client.escapeIdentifier(this.timeChannel)}`);
      }
    } catch (error) {
      client.removeAllListeners();
      // pg may still emit 'error' on this client (the server's 57P01 after a terminated
      // backend, a reset while ending): one with no listener would crash the process.
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.delayMs = this.minDelayMs;
    this.startHeartbeat(client);
    this.lastActivityAt = new Date();
    this.listener.resync();
  }

  /** Hands one notification to the listener; a listener that throws never breaks the connection. */
  private deliver(message: Notification): void {
    if (!message.payload) return;
    this.lastActivityAt = new Date();
    try {
      if (message.channel === this.channel) this.listener.revoked([message.payload]);
      else if (message.channel === this.userChannel) this.listener.userChanged([message.payload]);
      else if (message.channel === this.timeChannel) this.deliverTime(message.payload);
    } catch (error) {
      this.logger.warn(`Feed listener failed (${error instanceof Error ? error.name : typeof error})`);
    }
  }

  /** `<session id> <epoch ms>` from the time channel; anything else is ignored. */
  private deliverTime(payload: string): void {
    const match = TIME_PAYLOAD.exec(payload);
    if (match) this.listener.committed?.(match[1], new Date(Number(match[2])));
  }

  private dropped(client: Client): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    clearInterval(this.heartbeatTimer);
    client.removeAllListeners();
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    this.logger.warn('Revocation feed connection lost; reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.connect().catch((error: unknown) => {
        this.logger.warn(`Reconnect failed (${error instanceof Error ? error.name : typeof error})`);
        this.delayMs = Math.min(this.delayMs * 2, this.maxDelayMs);
        this.scheduleReconnect();
      });
    }, this.delayMs);
    this.reconnectTimer.unref();
  }

  private startHeartbeat(client: Client): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('heartbeat timeout')), HEARTBEAT_TIMEOUT_MS);
      });
      Promise.race([client.query('SELECT 1'), timeout])
        .then(() => {
          if (this.client === client) this.lastActivityAt = new Date();
        })
        .catch(() => this.dropped(client))
        .finally(() => clearTimeout(timer));
    }, this.heartbeatMs);
    this.heartbeatTimer.unref();
  }
}
