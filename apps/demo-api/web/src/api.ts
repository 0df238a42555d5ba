import type { SessionClient } from '@tessera/client';

/** `GET /api/me`. */
export interface Me {
  id: string;
  email: string;
  roles: string[];
  sessionId: string;
}

/** One item of `GET /auth/sessions`. */
export interface SessionInfo {
  id: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  userAgent: string | null;
  ip: string | null;
  current: boolean;
  /** The device in words, as the server parsed it from the user agent and client hints. */
  device: { browser: string | null; os: string | null; type: string; label: string };
  /** When a refresh last came from another IP address or user agent than at login; null if never. */
  contextChangedAt: string | null;
}

/** An error answer of the API (`{ statusCode, error, message, code }`), or a network failure (`status` 0). */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** The API's error body, or what can be said of a response that has none. */
export async function apiErrorOf(response: Response): Promise<ApiError> {
  let code = `http_${response.status}`;
  let message = response.statusText || `HTTP ${response.status}`;
  try {
    const body = (await response.json()) as { code?: unknown; message?: unknown };
    if (typeof body.code === 'string') code = body.code;
    if (typeof body.message === 'string') message = body.message;
    else if (Array.isArray(body.message)) message = body.message.join('; ');
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  const retryAfter = Number(response.headers.get('Retry-After'));
  return new ApiError(response.status, code, message, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined);
}

/**
 * Asks the person to prove their password again (step-up): shows a prompt, calls `verify`
 * with each password entered (it rejects with an `ApiError` for a wrong one, which the prompt
 * shows) and resolves true once one was accepted, false when the person gave up.
 */
export type StepUp = (verify: (password: string) => Promise<void>) => Promise<boolean>;

/**
 * The API as the page uses it: every call through the session client (cookies, CSRF, refresh
 * on `token_expired`). A call answered `401 reauthentication_required` (the session is too old
 * for it: FRESH_SESSION_MAX_AGE) asks `stepUp` for the password, sends it to
 * `POST /auth/reauthenticate`, then retries the call once.
 */
export class DemoApi {
  constructor(
    private readonly client: SessionClient,
    private readonly stepUp?: StepUp,
  ) {}

  /** Proves the password again: the session becomes fresh (new access cookie), same id. */
  async reauthenticate(password: string): Promise<void> {
    await this.send('/auth/reauthenticate', { method: 'POST', body: JSON.stringify({ password }) }, true);
  }

  /** Who am I. */
  me(): Promise<Me> {
    return this.json<Me>('/api/me');
  }

  /** My sessions, the current one first, then the most recently seen. */
  async sessions(): Promise<SessionInfo[]> {
    const sessions = await this.json<SessionInfo[]>('/auth/sessions');
    return [...sessions].sort(
      (a, b) => Number(b.current) - Number(a.current) || Date.parse(b.lastSeenAt) - Date.parse(a.lastSeenAt),
    );
  }

  /** Revokes one of my sessions. */
  async revokeSession(id: string): Promise<void> {
    await this.send(`/auth/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }

  /** Changes the password; the server re-issues this session under a new id and revokes the others. */
  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    await this.send('/api/me/password', { method: 'POST', body: JSON.stringify({ currentPassword, newPassword }) });
  }

  private async json<T>(path: string): Promise<T> {
    const response = await this.send(path, { method: 'GET' });
    return (await response.json()) as T;
  }

  private async send(path: string, init: RequestInit, retried = false): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('Accept', 'application/json');
    if (init.body !== undefined) headers.set('Content-Type', 'application/json');
    let response: Response;
    try {
      response = await this.client.fetch(path, { ...init, headers });
    } catch {
      throw new ApiError(0, 'network_error', 'The server cannot be reached.');
    }
    if (response.ok) return response;
    const error = await apiErrorOf(response);
    // Once: a second refusal after a successful step-up is shown as it is.
    if (error.code === 'reauthentication_required' && !retried && this.stepUp) {
      if (await this.stepUp((password) => this.reauthenticate(password))) return this.send(path, init, true);
    }
    throw error;
  }
}
