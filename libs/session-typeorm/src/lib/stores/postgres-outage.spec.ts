import { SessionStoreUnavailableError } from '@tessera/session';
import { sessionRecordFixture } from '@tessera/session/testing';
import { startTcpProxy } from '@tessera/testing-support';
import type { TcpProxy } from '@tessera/testing-support';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Client, Pool } from 'pg';
import type { QueryConfig } from 'pg';
import { DataSource } from 'typeorm';
import { PostgresSessionStore, sessionEntities, sessionMigrations } from '../../index';
import { asStoreOutage, isPostgresOutage } from './postgres-outage';

const serverUrl = (port?: number, user?: string) => {
  const value = process.env.TESSERA_TEST_DATABASE_URL;
  if (!value) throw new Error('The PostgreSQL global setup did not provide a database URL');
  const url = new URL(value);
  if (port) {
    url.hostname = '127.0.0.1';
    url.port = String(port);
  }
  if (user) url.username = user;
  return url.toString();
};
const serverPort = () => Number(new URL(serverUrl()).port || 5432);
const serverHost = () => new URL(serverUrl()).hostname;

/** What `run` rejects with (fails the test if it resolves). */
async function failureOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

/** A port nothing listens on: one the OS just handed out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls until `condition` holds, for at most 10 s. */
async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('isPostgresOutage on real node-postgres errors', () => {
  let admin: Client;
  const clients: Array<Client | Pool> = [];
  const proxies: TcpProxy[] = [];
  const opened = <T extends Client | Pool>(client: T): T => {
    clients.push(client);
    // A fault may surface as an 'error' event too: the test asserts on the rejection.
    (client as Client).on('error', () => undefined);
    return client;
  };

  beforeAll(async () => {
    admin = new Client({ connectionString: serverUrl() });
    await admin.connect();
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await admin.end();
  });

  it('a refused connection (ECONNREFUSED)', async () => {
    const port = await closedPort();
    const error = await failureOf(() => opened(new Client({ connectionString: serverUrl(port) })).connect());
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
    expect(isPostgresOutage(error)).toBe(true);
  });

  it('a backend terminated by pg_terminate_backend (57P01), then the closed client', async () => {
    const client = opened(new Client({ connectionString: serverUrl(), application_name: 'tessera-outage-terminated' }));
    await client.connect();
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const running = failureOf(() => client.query('SELECT pg_sleep(10)'));
    await waitFor(async () => (await admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", [pid])).rowCount === 1, 'the sleep');
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    const error = await running;
    expect((error as { code?: string }).code).toBe('57P01');
    expect(isPostgresOutage(error)).toBe(true);
    const after = await failureOf(() => client.query('SELECT 1'));
    expect(isPostgresOutage(after)).toBe(true);
  });

  it('a connection cut under a running query (Connection terminated unexpectedly)', async () => {
    const proxy = await startTcpProxy({ host: serverHost(), port: serverPort() });
    proxies.push(proxy);
    const client = opened(new Client({ connectionString: serverUrl(proxy.port) }));
    await client.connect();
    const running = failureOf(() => client.query('SELECT pg_sleep(10)'));
    proxy.cut();
    const error = await running;
    // pg says ECONNRESET or "Connection terminated unexpectedly", depending on which side sees it first.
    expect((error as Error).message).toMatch(/Connection terminated|ECONNRESET/);
    expect(isPostgresOutage(error)).toBe(true);
    // And a new connection through the cut proxy.
    expect(isPostgresOutage(await failureOf(() => opened(new Client({ connectionString: serverUrl(proxy.port) })).connect()))).toBe(true);
  });

  it('a stalled server: query_timeout, and the connect timeout', async () => {
    const proxy = await startTcpProxy({ host: serverHost(), port: serverPort() });
    proxies.push(proxy);
    const client = opened(new Client({ connectionString: serverUrl(proxy.port) }));
    await client.connect();
    proxy.stall();
    // query_timeout is read by pg's Client.query but missing from its types.
    const timed: QueryConfig & { query_timeout: number } = { text: 'SELECT 1', query_timeout: 200 };
    const error = await failureOf(() => client.query(timed));
    expect((error as Error).message).toBe('Query read timeout');
    expect(isPostgresOutage(error)).toBe(true);
    const connecting = opened(new Client({ connectionString: serverUrl(proxy.port), connectionTimeoutMillis: 200 }));
    const timedOut = await failureOf(() => connecting.connect());
    expect((timedOut as Error).message).toMatch(/timeout/i);
    expect(isPostgresOutage(timedOut)).toBe(true);
    proxy.restore();
  });

  it('a pool whose connections are all taken (checkout timeout)', async () => {
    const pool = opened(new Pool({ connectionString: serverUrl(), max: 1, connectionTimeoutMillis: 200 }));
    const held = await pool.connect();
    try {
      const error = await failureOf(() => pool.query('SELECT 1'));
      expect((error as Error).message).toMatch(/timeout exceeded when trying to connect/);
      expect(isPostgresOutage(error)).toBe(true);
    } finally {
      held.release();
    }
  });

  it('a statement cancelled by statement_timeout (57014)', async () => {
    const client = opened(new Client({ connectionString: serverUrl() }));
    await client.connect();
    await client.query("SET statement_timeout = '50ms'");
    const error = await failureOf(() => client.query('SELECT pg_sleep(5)'));
    expect((error as { code?: string }).code).toBe('57014');
    expect(isPostgresOutage(error)).toBe(true);
  });

  it('too many connections (53300) and a database closed to connections', async () => {
    const role = `tessera_outage_${randomBytes(4).toString('hex')}`;
    const database = `tessera_outage_${randomBytes(4).toString('hex')}`;
    await admin.query(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 0`);
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`);
    try {
      const tooMany = await failureOf(() => opened(new Client({ connectionString: serverUrl(undefined, role) })).connect());
      expect((tooMany as { code?: string }).code).toBe('53300');
      expect(isPostgresOutage(tooMany)).toBe(true);
      const url = new URL(serverUrl());
      url.pathname = `/${database}`;
      const closed = await failureOf(() => opened(new Client({ connectionString: url.toString() })).connect());
      expect(isPostgresOutage(closed)).toBe(true);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${database}`);
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
    }
  });

  it('bugs and bad input are not outages: syntax, unknown table, constraint, bad parameter, a TypeError', async () => {
    const client = opened(new Client({ connectionString: serverUrl() }));
    await client.connect();
    await client.query('CREATE TEMP TABLE outage_unique (id int PRIMARY KEY)');
    await client.query('INSERT INTO outage_unique VALUES (1)');
    const errors = [
      await failureOf(() => client.query('SELEC 1')),
      await failureOf(() => client.query('SELECT * FROM no_such_table_here')),
      await failureOf(() => client.query('INSERT INTO outage_unique VALUES (1)')),
      await failureOf(() => client.query('SELECT $1::int', ['not a number'])),
      new TypeError("Cannot read properties of undefined (reading 'id')"),
    ];
    expect(errors.map((error) => (error as { code?: string }).code)).toEqual(['42601', '42P01', '23505', '22P02', undefined]);
    for (const error of errors) {
      expect(isPostgresOutage(error)).toBe(false);
      expect(asStoreOutage(error, 'test')).toBe(error);
    }
  });

  it('looks through TypeORM QueryFailedError; server shutdown codes it cannot provoke here (57P02, 57P03)', async () => {
    const dataSource = new DataSource({ type: 'postgres', url: serverUrl() });
    await dataSource.initialize();
    try {
      const bug = await failureOf(() => dataSource.query('SELECT 1/0'));
      expect((bug as Error).name).toBe('QueryFailedError');
      expect(isPostgresOutage(bug)).toBe(false);
      const failed = await failureOf(() => dataSource.query('SELECT pg_terminate_backend(pg_backend_pid())'));
      expect((failed as Error).name).toBe('QueryFailedError');
      expect(isPostgresOutage(failed)).toBe(true);
    } finally {
      await dataSource.destroy();
    }
    // A crash shutdown and a server starting up cannot be caused from a test on a shared
    // server: the driver error's shape (a DatabaseError with the SQLSTATE as code) is.
    for (const code of ['57P02', '57P03']) expect(isPostgresOutage(Object.assign(new Error('shutdown'), { code }))).toBe(true);
  });

  it('asStoreOutage names the operation and the code, never the SQL', async () => {
    const error = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    const mapped = asStoreOutage(error, 'findById');
    expect(mapped).toBeInstanceOf(SessionStoreUnavailableError);
    expect((mapped as Error).message).toBe('PostgreSQL call failed (findById: 57P01)');
    expect((mapped as Error).cause).toBe(error);
  });
});

describe('PostgresSessionStore during an outage (a proxy between it and PostgreSQL)', () => {
  let proxy: TcpProxy;
  let dataSource: DataSource;
  let store: PostgresSessionStore;
  let admin: Client;

  beforeAll(async () => {
    proxy = await startTcpProxy({ host: serverHost(), port: serverPort() });
    const setup = new DataSource({ type: 'postgres', url: serverUrl(), entities: sessionEntities, migrations: sessionMigrations });
    await setup.initialize();
    await setup.runMigrations();
    await setup.destroy();
    dataSource = new DataSource({
      type: 'postgres',
      url: serverUrl(proxy.port),
      entities: sessionEntities,
      applicationName: 'tessera-outage-store',
      extra: { max: 2, connectionTimeoutMillis: 1_000 },
    });
    await dataSource.initialize();
    store = new PostgresSessionStore(dataSource.getRepository(sessionEntities[0]), { commandTimeout: '300ms' });
    admin = new Client({ connectionString: serverUrl() });
    await admin.connect();
  });
  afterAll(async () => {
    proxy.restore();
    await dataSource?.destroy();
    await proxy?.close();
    await admin?.end();
  });

  it('refuses an invalid commandTimeout', () => {
    expect(() => new PostgresSessionStore(dataSource.getRepository(sessionEntities[0]), { commandTimeout: 'soon' })).toThrow(
      'PostgresSessionStore option "commandTimeout" must be a positive duration',
    );
  });

  it('a stalled server: every call fails with SessionStoreUnavailableError after commandTimeout, then recovers', async () => {
    const session = sessionRecordFixture();
    await store.create(session);
    proxy.stall();
    const started = Date.now();
    const calls = [
      () => store.findById(session.id),
      () => store.touch(session.id, new Date(), new Date(Date.now() + 60_000)),
      () => store.listByUser(session.userId, new Date()),
      () => store.revokeByUser(session.userId, 'logout_all', new Date()),
      () => store.acquireCleanupLock(),
    ];
    for (const error of await Promise.all(calls.map((call) => failureOf(call)))) {
      expect(error).toBeInstanceOf(SessionStoreUnavailableError);
    }
    // Bounded by the timeout (generous upper bound: a slow machine may run late, never early).
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(5_000);
    proxy.restore();
    await waitFor(async () => (await store.findById(session.id).catch(() => undefined)) !== undefined, 'recovery');
    expect((await store.findById(session.id))?.id).toBe(session.id);
  });

  it('a cut and pg_terminate_backend: SessionStoreUnavailableError, then the pool and prepared statements recover', async () => {
    const session = sessionRecordFixture();
    await store.create(session);
    // Prepared on the pool's connections before they die.
    await store.findById(session.id);
    proxy.cut();
    expect(await failureOf(() => store.findById(session.id))).toBeInstanceOf(SessionStoreUnavailableError);
    expect(await failureOf(() => store.revoke(session.id, 'logout', new Date()))).toBeInstanceOf(SessionStoreUnavailableError);
    proxy.restore();
    await waitFor(async () => (await store.findById(session.id).catch(() => undefined)) !== undefined, 'recovery after the cut');

    await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tessera-outage-store'");
    // The pool drops its dead connections and opens new ones, which prepare again.
    await waitFor(async () => (await store.findById(session.id).catch(() => undefined)) !== undefined, 'recovery after terminate');
    expect(await store.revoke(session.id, 'logout', new Date())).toBe(true);
    expect((await store.findById(session.id))?.revokedAt).toBeInstanceOf(Date);
  });

  it('a constraint error stays what it is', async () => {
    const session = sessionRecordFixture();
    await store.create(session);
    const error = await failureOf(() => store.create(session));
    expect(error).not.toBeInstanceOf(SessionStoreUnavailableError);
    expect((error as { code?: string }).code).toBe('23505');
  });
});
