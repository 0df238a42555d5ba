import type { SessionClient } from '@tessera/client';
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- socket.io's listeners take any arguments
type Listener = (...args: any[]) => void;

/** What the page needs to hear from `/ws`. */
export interface LiveHandlers {
  /** A session of mine began or ended somewhere (`session.created`, `session.revoked`): reload the list. */
  sessionsChanged(): void;
  /** This browser's session went on under a new id (a password change): reload who am I. */
  reissued(): void;
  /** The session this tab knows, to tell a re-issue from a revocation. */
  currentSessionId(): string | undefined;
  /** Another tab ended this browser's session (`logout`, ...): show it, as the client's own message would. */
  ended(reason: string): void;
}

/** Longest wait for another tab to finish what it announced (its tab may be closed meanwhile). */
const ANNOUNCED_WORK_MAX_MS = 10_000;
/** The page's own channel (the client's is `tessera`): announcements of work that revokes this browser's session. */
const PAGE_CHANNEL = 'tessera-demo-page';

interface PageMessage {
  type: 'begin' | 'end';
  id: string;
  /** On `end`: the reason, when the work ended this browser's session. */
  ended?: string;
}

/** A random id (crypto.randomUUID needs a secure context; a LAN address over http is not one). */
function randomId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(12)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * The `/ws` push (socket.io, cookie-authenticated), wired through `client.attachSocket`.
 *
 * Two things the client cannot know are decided here, before it hears `session.ended`:
 * - A password change re-issues this browser's session under a new id, and the server
 *   ends the old id's sockets with `session_revoked`; every tab of the browser holds one.
 *   The session lives on in the new cookies, so this is no end: a tab asks `/api/me`
 *   (after the tab that changed the password says it is done) and reconnects.
 * - Logout, log out everywhere and revoking the current session also end this browser's
 *   sockets, and the push may beat the tab's own message to the others; they wait for it,
 *   so that every tab shows the same reason (`logout`, not `session_revoked`).
 */
export class LiveUpdates {
  private readonly socket: Socket;
  private readonly endedListeners = new Set<Listener>();
  /** Work other tabs (or this one) announced and have not finished: id → when it began. */
  private readonly announced = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private readonly channel: BroadcastChannel | undefined;
  private detach: (() => void) | undefined;
  private retriedHandshake = false;
  /** When this tab last heard of announced work (its beginning or end), in ms since the epoch. */
  private lastAnnouncementAt = 0;
  private running = false;

  constructor(
    private readonly client: SessionClient,
    private readonly handlers: LiveHandlers,
  ) {
    // WebSocket only: no long-polling fallback to authenticate and keep alive (connect-src 'self' covers ws: on this origin).
    this.socket = io('/ws', { path: '/socket.io', transports: ['websocket'], withCredentials: true, autoConnect: false });
    this.channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(PAGE_CHANNEL) : undefined;
    this.channel?.addEventListener('message', (event: MessageEvent<PageMessage>) => this.onPageMessage(event.data));

    this.socket.on('session.created', () => this.handlers.sessionsChanged());
    this.socket.on('session.revoked', () => this.handlers.sessionsChanged());
    this.socket.on('session.ended', (payload: unknown) => void this.onEnded(payload));
    this.socket.on('connect', () => {
      this.retriedHandshake = false;
      // Events sent while the socket was down are not replayed: catch up.
      this.handlers.sessionsChanged();
    });
    this.socket.on('connect_error', (error: Error & { data?: { code?: string } }) => void this.onConnectError(error.data?.code));
  }

  /** Whether the socket is connected (for the page's status line). */
  get connected(): boolean {
    return this.socket.connected;
  }

  /** Connects, once signed in. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.detach = this.client.attachSocket(this.filtered());
    this.socket.connect();
  }

  /** Disconnects, when the session ended or this tab signs out. */
  stop(): void {
    this.running = false;
    this.detach?.();
    this.detach = undefined;
    this.socket.disconnect();
  }

  /**
   * Runs work that revokes this browser's session (or re-issues it), telling the other
   * tabs first, and with this tab's socket closed meanwhile (it would hear the revocation).
   * `endsWith`: the reason the session ends when the work succeeds (none for a re-issue).
   */
  async announce<T>(work: () => Promise<T>, endsWith?: string): Promise<T> {
    const id = randomId();
    this.channel?.postMessage({ type: 'begin', id } satisfies PageMessage);
    const wasRunning = this.running;
    this.socket.disconnect();
    let ended: string | undefined;
    try {
      const result = await work();
      ended = endsWith;
      return result;
    } finally {
      this.channel?.postMessage({ type: 'end', id, ended } satisfies PageMessage);
      if (wasRunning && this.running && ended === undefined) this.socket.connect();
    }
  }

  /**
   * The socket as `client.attachSocket` sees it: the same, except that `session.ended` is
   * first checked here (see the class comment) and passed on only when the session is over.
   */
  private filtered(): Parameters<SessionClient['attachSocket']>[0] {
    const socket = this.socket;
    const view = {
      on: (event: string, listener: Listener) => {
        if (event === 'session.ended') this.endedListeners.add(listener);
        else socket.on(event, listener);
        return view;
      },
      off: (event?: string, listener?: Listener) => {
        if (event === 'session.ended') {
          if (listener) this.endedListeners.delete(listener);
          else this.endedListeners.clear();
        } else if (event && listener) socket.off(event, listener);
        return view;
      },
      connect: () => {
        if (this.running) socket.connect();
        return view;
      },
      disconnect: () => {
        socket.disconnect();
        return view;
      },
      get connected() {
        return socket.connected;
      },
    };
    return view;
  }

  private async onEnded(payload: unknown): Promise<void> {
    const code = (payload as { code?: unknown } | null)?.code;
    if (code === 'session_revoked') {
      await this.announcedWork();
      if (!this.running) return; // the tab that announced it ended the session in every tab (its reason stands)
      // Only a tab of this browser re-issues its session, and it announces that first: without a
      // recent announcement (where there is a channel to hear one) this is a plain revocation.
      const announcedLately = !this.channel || Date.now() - this.lastAnnouncementAt < ANNOUNCED_WORK_MAX_MS;
      if (announcedLately && (await this.reissued())) {
        this.socket.connect();
        this.handlers.reissued();
        return;
      }
    }
    for (const listener of [...this.endedListeners]) listener(payload);
  }

  /** Whether the browser's cookies now hold another live session of this user (a password change re-issued it). */
  private async reissued(): Promise<boolean> {
    const known = this.handlers.currentSessionId();
    try {
      // Not through the client: a 401 here is an answer, not an end to report to every tab.
      const response = await fetch('/api/me', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (!response.ok) return false;
      const me = (await response.json()) as { sessionId?: unknown };
      return typeof me.sessionId === 'string' && me.sessionId !== known;
    } catch {
      return false;
    }
  }

  /** A handshake refused for an access token that expired (or whose cookie the browser dropped): refresh once, then retry. */
  private async onConnectError(code: string | undefined): Promise<void> {
    if (!this.running || this.retriedHandshake) return;
    if (code !== 'token_expired' && code !== 'token_missing') return;
    this.retriedHandshake = true;
    if ((await this.client.refresh()) && this.running) this.socket.connect();
  }

  /** Resolves when no tab has announced work in progress, or after the longest wait (its tab may be gone). */
  private announcedWork(): Promise<void> {
    this.forgetStale();
    if (this.announced.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.forgetStale();
        done();
      }, ANNOUNCED_WORK_MAX_MS);
      this.waiters.add(done);
    });
  }

  private onPageMessage(message: PageMessage): void {
    this.lastAnnouncementAt = Date.now();
    if (message.type === 'begin') {
      this.announced.set(message.id, Date.now());
      return;
    }
    this.announced.delete(message.id);
    // The tab that did it says how the session ended, so every tab shows its reason (not the push's `session_revoked`).
    if (message.ended) this.handlers.ended(message.ended);
    if (this.announced.size === 0) for (const done of [...this.waiters]) done();
  }

  private forgetStale(): void {
    const now = Date.now();
    for (const [id, at] of this.announced) if (now - at >= ANNOUNCED_WORK_MAX_MS) this.announced.delete(id);
  }
}
