// A few Redis commands over a bare socket, for the test servers' own health checks (PING,
// CLUSTER INFO): no client library, no reconnect logic to get in the way of "is it up yet?".
import { createConnection } from 'node:net';

/** A RESP2 reply: simple and bulk strings, integers, nil, arrays, or a server error. */
export type RedisReply = string | number | null | RedisReply[] | RedisErrorReply;

/** An error reply (`-ERR ...`, `-LOADING ...`), returned rather than thrown: callers decide. */
export class RedisErrorReply {
  constructor(readonly message: string) {}
}

/** Where a test Redis listens, and the credentials to send first when it asks for them. */
export interface RedisAddress {
  host: string;
  port: number;
  username?: string;
  password?: string;
}

/** The address in a `redis://[user:password@]host:port` url (TLS urls are not supported here). */
export function redisAddressOf(url: string): RedisAddress {
  const parsed = new URL(url);
  if (parsed.protocol !== 'redis:') throw new Error(`${parsed.protocol} urls are not supported by the test tooling: use redis://host:port`);
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
  };
}

function encode(args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
}

/** One reply starting at `offset`, or undefined when the buffer does not hold all of it yet. */
function parse(buffer: Buffer, offset: number): { reply: RedisReply; next: number } | undefined {
  const end = buffer.indexOf('\r\n', offset);
  if (end < 0) return undefined;
  const line = buffer.toString('utf8', offset + 1, end);
  const next = end + 2;
  switch (String.fromCharCode(buffer[offset])) {
    case '+':
      return { reply: line, next };
    case '-':
      return { reply: new RedisErrorReply(line), next };
    case ':':
      return { reply: Number(line), next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { reply: null, next };
      if (buffer.length < next + length + 2) return undefined;
      return { reply: buffer.toString('utf8', next, next + length), next: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { reply: null, next };
      const items: RedisReply[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parse(buffer, at);
        if (!item) return undefined;
        items.push(item.reply);
        at = item.next;
      }
      return { reply: items, next: at };
    }
    default:
      throw new Error(`unexpected RESP reply type ${JSON.stringify(String.fromCharCode(buffer[offset]))}`);
  }
}

/**
 * Sends the commands on one fresh connection (AUTH first when the address has a password)
 * and resolves with their replies in order. Rejects when the connection fails or no full
 * answer arrives within `timeoutMs`.
 */
export function redisCommands(address: RedisAddress, commands: string[][], timeoutMs = 2_000): Promise<RedisReply[]> {
  const auth = address.password ? [address.username ? ['AUTH', address.username, address.password] : ['AUTH', address.password]] : [];
  const all = [...auth, ...commands];
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: address.host, port: address.port });
    let received = Buffer.alloc(0);
    const finish = (outcome: Error | RedisReply[]) => {
      clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(
      () => finish(new Error(`Redis at ${address.host}:${address.port} did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('connect', () => socket.write(all.map(encode).join('')));
    socket.on('error', finish);
    socket.on('close', () => finish(new Error(`Redis at ${address.host}:${address.port} closed the connection`)));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      const replies: RedisReply[] = [];
      let at = 0;
      while (replies.length < all.length) {
        const parsed = parse(received, at);
        if (!parsed) return;
        replies.push(parsed.reply);
        at = parsed.next;
      }
      finish(replies.slice(auth.length));
    });
  });
}

/** Whether a PING reply means the server takes commands (not still loading its data). */
export function answersPing(reply: RedisReply): boolean {
  if (reply instanceof RedisErrorReply) return !reply.message.startsWith('LOADING');
  return reply === 'PONG';
}
