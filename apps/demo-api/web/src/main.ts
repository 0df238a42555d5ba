import { createSessionClient } from '@tessera/client';
import type { SessionClient } from '@tessera/client';
import { ApiError, DemoApi, apiErrorOf } from './api';
import type { Me, SessionInfo } from './api';
import { busy, byTestId, element, field } from './dom';
import { LiveUpdates } from './live';
import { SESSION_END_CODES, reasonInWords } from './reasons';
import { countdown, formatAbsolute, fromNow } from './time';

/** `document.body.dataset.state`, which the browser tests wait on. */
type PageState = 'loading' | 'signed-out' | 'signed-in' | 'ended';

/** How often relative times ("5 minutes ago") and the countdown are redrawn. */
const TICK_MS = 1_000;
/** Socket events come in bursts (a logout everywhere revokes many sessions): one reload for a burst. */
const RELOAD_DEBOUNCE_MS = 150;

/** What an API error means to the person, by code. */
const ERROR_WORDS: Record<string, string> = {
  invalid_credentials: 'Wrong email or password.',
  email_taken: 'This email is already registered: log in instead.',
  too_many_attempts: 'Too many failed attempts.',
  validation_failed: 'Check the email, and a password of 8 to 128 characters.',
  csrf_failed: 'The server refused the request (CSRF check). Reload the page and try again.',
  store_unavailable: 'The server cannot reach its session store right now. Try again shortly.',
  network_error: 'The server cannot be reached.',
  password_unchanged: 'The new password is the same as the current one.',
  reauthentication_required: 'This needs a recent sign-in: confirm your password when asked, then try again.',
  session_not_found: 'That session has already ended.',
  not_found: 'That session has already ended.',
};

/** An error in words: the code's, with the wait when the server gave one. */
function errorInWords(error: unknown, overrides: Record<string, string> = {}): string {
  if (!(error instanceof ApiError)) return 'Something went wrong. Try again.';
  const words = overrides[error.code] ?? ERROR_WORDS[error.code] ?? error.message;
  return error.retryAfterSeconds ? `${words} Try again in ${error.retryAfterSeconds} s.` : words;
}

/** Whether a CSRF cookie is present: the trace of a session this browser may still have (the others are HttpOnly). */
function hasCsrfCookie(): boolean {
  return document.cookie.split(';').some((pair) => /^\s*(?:__Host-)?tessera-csrf=/.test(pair));
}

/** The demo page: one instance per tab. */
class DemoPage {
  private readonly client: SessionClient;
  private readonly api: DemoApi;
  private readonly live: LiveUpdates;
  private state: PageState = 'loading';
  private me: Me | undefined;
  private sessions: SessionInfo[] = [];
  private entering: Promise<void> | undefined;
  private reloadTimer: number | undefined;

  private readonly authForm = byTestId<HTMLFormElement>('auth-form');
  private readonly passwordForm = byTestId<HTMLFormElement>('password-form');
  private readonly reauthPanel = byTestId('reauth-panel');
  private readonly reauthForm = byTestId<HTMLFormElement>('reauth-form');
  /** The step-up prompt on screen, if any: calls that need it meanwhile wait for the same answer. */
  private stepping: Promise<boolean> | undefined;
  private readonly sessionList = byTestId<HTMLUListElement>('session-list');
  private readonly notice = byTestId('notice');

  constructor() {
    this.client = createSessionClient();
    this.api = new DemoApi(this.client, (verify) => this.stepUp(verify));
    this.live = new LiveUpdates(this.client, {
      sessionsChanged: () => this.scheduleSessionsReload(),
      reissued: () => {
        this.say('Your password was changed in another tab: this session goes on under a new id, the others were logged out.');
        void this.reloadMe();
      },
      currentSessionId: () => this.me?.sessionId,
      ended: (reason) => this.ended(reason),
    });
  }

  /** Wires the page and finds out whether this browser is signed in. */
  async start(): Promise<void> {
    this.bind();
    this.client.onSessionEnded((reason) => this.ended(reason));
    this.client.onRefreshed(() => this.renderRefresh());
    this.client.onSignedIn(() => {
      if (this.state !== 'signed-in') this.enterSignedIn().catch((error: unknown) => this.failed(error));
    });
    this.client.start();
    byTestId('this-tab').textContent = this.client.tabId;
    this.renderRefresh();
    window.setInterval(() => this.tick(), TICK_MS);
    await this.probe();
  }

  private bind(): void {
    this.authForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.authenticate('login');
    });
    byTestId<HTMLButtonElement>('register').addEventListener('click', () => void this.authenticate('register'));
    byTestId<HTMLButtonElement>('logout').addEventListener('click', (event) => void this.logout(event.currentTarget as HTMLButtonElement));
    byTestId<HTMLButtonElement>('logout-all').addEventListener('click', (event) =>
      void this.logoutAll(event.currentTarget as HTMLButtonElement),
    );
    this.passwordForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.changePassword();
    });
    byTestId<HTMLButtonElement>('back-to-login').addEventListener('click', () => {
      this.setState('signed-out');
      this.say('');
      this.authForm.querySelector<HTMLInputElement>('input[name=email]')?.focus();
    });
    byTestId<HTMLButtonElement>('refresh-now').addEventListener('click', (event) =>
      void this.refreshNow(event.currentTarget as HTMLButtonElement),
    );
    // One listener for every revoke button, present and future.
    this.sessionList.addEventListener('click', (event) => {
      const button = (event.target as Element).closest<HTMLButtonElement>('[data-testid=revoke-session]');
      const item = button?.closest<HTMLElement>('[data-testid=session-item]');
      if (button && item?.dataset.sessionId) void this.revoke(item.dataset.sessionId, button);
    });
  }

  /**
   * Signed in? `/api/me` answers (the client refreshes an expired access token, and a
   * missing one when its tabs have shared a session). When the access cookie is gone (it
   * lives as long as the token) and the client knows of no session (its shared state was
   * cleared) but a CSRF cookie is left, the refresh cookie may be too: one refresh tells.
   */
  private async probe(): Promise<void> {
    // Every login sets the CSRF cookie for the session's lifetime, and logout clears it: without
    // one there is no session to find, and no 401 to ask for.
    if (!hasCsrfCookie()) {
      this.setState('signed-out');
      return;
    }
    // Before asking: a refresh the client tries itself (and fails) clears what it knows.
    const unknownToClient = this.client.lastRefresh === null;
    try {
      await this.enterSignedIn(await this.api.me());
    } catch (error) {
      if (error instanceof ApiError && error.code === 'token_missing' && unknownToClient && (await this.client.refresh())) {
        await this.enterSignedIn().catch(() => this.setState('signed-out'));
        return;
      }
      if (error instanceof ApiError && error.status !== 401) this.say(errorInWords(error), 'error');
      if (this.state === 'loading') this.setState('signed-out');
    }
  }

  /** Shows the signed-in view: who am I, the sessions, the live push. One at a time (a login here and the client's signedIn). */
  private enterSignedIn(me?: Me): Promise<void> {
    this.entering ??= (async () => {
      try {
        this.me = me ?? (await this.api.me());
        this.renderMe();
        this.setState('signed-in');
        this.live.start();
        await this.reloadSessions();
      } finally {
        this.entering = undefined;
      }
    })();
    return this.entering;
  }

  private async authenticate(action: 'login' | 'register'): Promise<void> {
    const error = byTestId('auth-error');
    error.textContent = '';
    if (!this.authForm.reportValidity()) return;
    const data = new FormData(this.authForm);
    const credentials = { email: String(data.get('email')).trim(), password: String(data.get('password')) };
    await busy([this.authForm], async () => {
      try {
        if (action === 'register') {
          const registered = await this.client.register(credentials);
          if (!registered.ok) throw await apiErrorOf(registered);
        }
        const login = await this.client.login(credentials);
        if (!login.ok) throw await apiErrorOf(login);
        this.authForm.reset();
        await this.enterSignedIn();
        this.say(action === 'register' ? `Registered and logged in as ${credentials.email}.` : `Logged in as ${credentials.email}.`);
        document.getElementById('whoami-title')?.focus();
      } catch (caught) {
        if (caught instanceof TypeError) error.textContent = ERROR_WORDS.network_error; // fetch's own failure
        else
          error.textContent = errorInWords(caught, {
            validation_failed:
              action === 'register' ? 'Use a valid email and a password of 8 to 128 characters.' : 'Wrong email or password.',
          });
      }
    });
  }

  private async logout(button: HTMLButtonElement): Promise<void> {
    await busy([button], () =>
      this.live.announce(() => this.client.logout(), 'logout').catch((error: unknown) => this.failed(error)),
    );
  }

  private async logoutAll(button: HTMLButtonElement): Promise<void> {
    await busy([button], () =>
      this.live.announce(() => this.client.logoutAll(), 'logout_all').catch((error: unknown) => this.failed(error)),
    );
  }

  private async revoke(id: string, button: HTMLButtonElement): Promise<void> {
    const session = this.sessions.find((candidate) => candidate.id === id);
    await busy([button], async () => {
      try {
        if (session?.current) {
          // Revoking this device's session ends this tab (and its siblings) too.
          await this.live.announce(async () => {
            await this.api.revokeSession(id);
            this.client.sessionEnded('session_revoked');
          }, 'session_revoked');
          return;
        }
        await this.api.revokeSession(id);
        this.say(`Revoked the session of ${session?.device.label ?? 'an unknown device'}.`);
      } catch (error) {
        this.failed(error);
      }
      await this.reloadSessions();
    });
  }

  private async changePassword(): Promise<void> {
    const error = byTestId('password-error');
    error.textContent = '';
    if (!this.passwordForm.reportValidity()) return;
    const data = new FormData(this.passwordForm);
    await busy([this.passwordForm], async () => {
      try {
        // The server re-issues this session under a new id, which ends the old id's sockets in every tab: announced.
        await this.live.announce(() => this.api.changePassword(String(data.get('currentPassword')), String(data.get('newPassword'))));
        this.passwordForm.reset();
        this.say('Password changed. Your other sessions were logged out; this one goes on under a new id.');
        await this.reloadMe();
      } catch (caught) {
        if (this.endsSession(caught)) return;
        error.textContent = errorInWords(caught, {
          invalid_credentials: 'The current password is wrong.',
          validation_failed: 'The new password must be 8 to 128 characters.',
        });
      }
    });
  }

  /**
   * Shows the password prompt (the server answered `reauthentication_required`) until a
   * password is accepted (true) or the person cancels (false). One prompt at a time.
   */
  private stepUp(verify: (password: string) => Promise<void>): Promise<boolean> {
    this.stepping ??= new Promise<boolean>((resolve) => {
      const error = byTestId('reauth-error');
      const input = this.reauthForm.querySelector<HTMLInputElement>('input[name=password]');
      const cancel = byTestId<HTMLButtonElement>('reauth-cancel');
      const done = (accepted: boolean) => {
        this.reauthForm.removeEventListener('submit', submit);
        cancel.removeEventListener('click', dismiss);
        this.reauthForm.reset();
        error.textContent = '';
        this.reauthPanel.hidden = true;
        this.stepping = undefined;
        resolve(accepted);
      };
      const submit = (event: Event) => {
        event.preventDefault();
        error.textContent = '';
        if (!this.reauthForm.reportValidity()) return;
        const password = String(new FormData(this.reauthForm).get('password'));
        void busy([this.reauthForm], async () => {
          try {
            await verify(password);
            done(true);
          } catch (caught) {
            if (this.endsSession(caught)) return done(false);
            error.textContent = errorInWords(caught, { invalid_credentials: 'Wrong password.' });
            input?.select();
          }
        });
      };
      const dismiss = () => done(false);
      this.reauthForm.addEventListener('submit', submit);
      cancel.addEventListener('click', dismiss);
      field<HTMLInputElement>('reauth-username').value = this.me?.email ?? '';
      this.reauthPanel.hidden = false;
      input?.focus();
    });
    return this.stepping;
  }

  private async refreshNow(button: HTMLButtonElement): Promise<void> {
    await busy([button], async () => {
      const alive = await this.client.refresh();
      if (alive) this.say('Access token refreshed.');
      this.renderRefresh();
    });
  }

  /** The session ended (in this tab or another): the first reason stands. */
  private ended(reason: string): void {
    if (this.state === 'ended') return;
    this.live.stop();
    this.me = undefined;
    this.sessions = [];
    if (this.state !== 'signed-in') {
      // Nothing was shown as signed in (a failed probe, a signed-out tab hearing another's logout).
      this.setState('signed-out');
      return;
    }
    field('ended-words').textContent = reasonInWords(reason);
    byTestId('ended-reason').textContent = reason;
    this.say('');
    this.setState('ended');
    document.getElementById('ended-title')?.focus();
  }

  /** A 401 that means the session is over ends it in every tab, as the client would for its own requests. */
  private endsSession(error: unknown): boolean {
    if (error instanceof ApiError && error.status === 401 && SESSION_END_CODES.has(error.code)) {
      this.client.sessionEnded(error.code);
      return true;
    }
    return false;
  }

  private failed(error: unknown): void {
    if (!this.endsSession(error)) this.say(errorInWords(error), 'error');
  }

  private async reloadMe(): Promise<void> {
    try {
      this.me = await this.api.me();
      this.renderMe();
      await this.reloadSessions();
    } catch (error) {
      this.failed(error);
    }
  }

  private scheduleSessionsReload(): void {
    if (this.state !== 'signed-in') return;
    window.clearTimeout(this.reloadTimer);
    this.reloadTimer = window.setTimeout(() => void this.reloadSessions(), RELOAD_DEBOUNCE_MS);
  }

  private async reloadSessions(): Promise<void> {
    if (this.state !== 'signed-in') return;
    try {
      this.sessions = await this.api.sessions();
      this.renderSessions();
    } catch (error) {
      this.failed(error);
    }
  }

  private setState(state: PageState): void {
    this.state = state;
    document.body.dataset.state = state;
    for (const view of document.querySelectorAll<HTMLElement>('[data-view]')) {
      view.hidden = view.dataset.view !== state;
      view.removeAttribute('aria-busy');
    }
    byTestId<HTMLButtonElement>('refresh-now').disabled = state !== 'signed-in';
    this.renderRefresh();
  }

  /** A message for everyone: shown, and read out by screen readers (`aria-live`). */
  private say(message: string, kind: 'info' | 'error' = 'info'): void {
    this.notice.textContent = message;
    this.notice.classList.toggle('notice-error', kind === 'error');
  }

  private renderMe(): void {
    const me = this.me;
    if (!me) return;
    field('email').textContent = me.email;
    field<HTMLInputElement>('password-username').value = me.email;
    field('roles').textContent = me.roles.length > 0 ? me.roles.join(', ') : 'none';
    field('user-id').textContent = me.id;
    field('session-id').textContent = me.sessionId;
  }

  private renderSessions(): void {
    const items = this.sessions.map((session) => this.sessionItem(session));
    this.sessionList.replaceChildren(...items);
    const count = this.sessions.length;
    field('sessions-summary').textContent =
      `${count} active session${count === 1 ? '' : 's'}. The list follows logins and revocations as they happen.`;
  }

  private sessionItem(session: SessionInfo): HTMLLIElement {
    const device = session.device.label;
    const heading = element('p', { class: 'session-device' }, element('strong', {}, device));
    if (session.current) heading.append(' ', element('span', { class: 'badge', 'data-testid': 'this-device' }, 'This device'));
    const meta = element(
      'dl',
      { class: 'session-meta' },
      element('dt', {}, 'IP'),
      element('dd', {}, session.ip ?? 'unknown'),
      element('dt', {}, 'Logged in'),
      element('dd', {}, this.timeElement(session.createdAt)),
      element('dt', {}, 'Last seen'),
      element('dd', { 'data-testid': 'last-seen' }, this.timeElement(session.lastSeenAt)),
    );
    // The accessible name starts with the visible text (WCAG 2.5.3, label in name) and says which session.
    const label = session.current ? `Revoke (logs out here): this device’s session, ${device}` : `Revoke the session of ${device}`;
    const revoke = element(
      'button',
      { type: 'button', class: session.current ? 'danger' : undefined, 'data-testid': 'revoke-session', 'aria-label': label },
      session.current ? 'Revoke (logs out here)' : 'Revoke',
    );
    const body = element('div', { class: 'session-body' }, heading, meta);
    if (session.contextChangedAt) {
      body.append(
        element(
          'p',
          { class: 'session-note', 'data-testid': 'context-changed' },
          'Used from another network or browser than at login, ',
          this.timeElement(session.contextChangedAt),
          '.',
        ),
      );
    }
    return element(
      'li',
      { class: session.current ? 'session current' : 'session', 'data-testid': 'session-item', 'data-session-id': session.id },
      body,
      revoke,
    );
  }

  /** A `<time>` with the relative time as text and the exact one in `datetime` and `title`. */
  private timeElement(iso: string): HTMLTimeElement {
    const at = Date.parse(iso);
    return element('time', { datetime: iso, title: formatAbsolute(at), 'data-relative': '' }, fromNow(at, Date.now()));
  }

  private renderRefresh(): void {
    const last = this.client.lastRefresh;
    const at = byTestId<HTMLTimeElement>('last-refresh-at');
    at.textContent = last ? new Date(last.at).toISOString() : '';
    if (last) at.dateTime = new Date(last.at).toISOString();
    else at.removeAttribute('datetime');
    byTestId('last-refresh-by').textContent = last?.by ?? '';
    field('last-refresh-self').textContent = last ? (last.self ? '(this tab)' : '(another tab)') : '';
    this.renderClock();
  }

  /** The parts of the refresh panel and the session list that move with time. */
  private renderClock(): void {
    const now = Date.now();
    const last = this.client.lastRefresh;
    field('last-refresh-ago').textContent = last ? `(${fromNow(last.at, now)})` : 'not yet, in this browser';
    const expires = this.client.accessExpiresAt;
    field('access-expires').textContent =
      this.state === 'signed-in' && expires ? `${new Date(expires).toLocaleTimeString()} (in ${countdown(expires - now)})` : '—';
  }

  private tick(): void {
    this.renderClock();
    const now = Date.now();
    for (const time of this.sessionList.querySelectorAll<HTMLTimeElement>('time[data-relative]')) {
      time.textContent = fromNow(Date.parse(time.dateTime), now);
    }
  }
}

void new DemoPage().start().catch((error: unknown) => {
  // A page that cannot start says so instead of spinning.
  document.body.dataset.state = 'signed-out';
  const notice = document.querySelector('[data-testid=notice]');
  if (notice) notice.textContent = `The page could not start: ${error instanceof Error ? error.message : String(error)}`;
});
