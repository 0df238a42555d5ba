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

/** The API as the page uses it: every call through the session client (cookies, CSRF, refresh on `token_expired`). */
export class DemoApi {
  constructor(private readonly client: SessionClient) {}

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

  private async send(path: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('Accept', 'application/json');
    if (init.body !== undefined) headers.set('Content-Type', 'application/json');
    let response: Response;
    try {
      response = await this.client.fetch(path, { ...init, headers });
    } catch {
      throw new ApiError(0, 'network_error', 'The server cannot be reached.');
    }
    if (!response.ok) throw await apiErrorOf(response);
    return response;
  }
}
