// A tiny keep-alive HTTP client for the benchmark's setup steps and the propagation probe.
import http from 'node:http';

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/**
 * Sends one request; resolves to { status, headers, body (parsed JSON when possible) }.
 * `agent` replaces the shared keep-alive agent (16 sockets) for callers with more in flight;
 * `timeout`: how long the socket may stay idle (30 s).
 */
export function request(baseUrl, method, path, { headers = {}, body, agent: ownAgent, timeout = 30_000 } = {}) {
  const url = new URL(path, baseUrl);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent: ownAgent ?? agent,
        headers: {
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          ...headers,
        },
        timeout,
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode, headers: res.headers, body: parsed });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Like `request`, but throws unless the status is `expected`. */
export async function expectStatus(expected, baseUrl, method, path, options) {
  const response = await request(baseUrl, method, path, options);
  if (response.status !== expected) {
    const code = response.body && typeof response.body === 'object' ? response.body.code : undefined;
    throw new Error(`${method} ${path}: expected ${expected}, got ${response.status}${code ? ` (${code})` : ''}`);
  }
  return response;
}

const BEARER = { 'x-auth-mode': 'bearer' };

/** Registers a user in bearer mode. */
export function register(baseUrl, email, password) {
  return expectStatus(201, baseUrl, 'POST', '/auth/register', { headers: BEARER, body: { email, password } });
}

/** Logs in in bearer mode; resolves to the login body ({ accessToken, refreshToken, session, ... }). */
export async function login(baseUrl, email, password) {
  return (await expectStatus(200, baseUrl, 'POST', '/auth/login', { headers: BEARER, body: { email, password } })).body;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
