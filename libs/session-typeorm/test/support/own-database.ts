import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** A database of a spec's own on the test server, for an app that runs its migrations at boot. */
export interface OwnDatabase {
  /** Its URL. */
  url: string;
  /** A connected client on it, for checking what the app stored. */
  client: Client;
  /** Closes the client and drops the database. */
  drop(): Promise<void>;
}

/** The test server's URL with another database name. */
function serverUrl(database: string): string {
  const value = process.env.TESSERA_TEST_DATABASE_URL;
  if (!value) throw new Error('The PostgreSQL global setup did not provide a database URL');
  const url = new URL(value);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Creates `<prefix>_<random>` on the test server (dropped, with its connections, by `drop`). */
export async function createOwnDatabase(prefix: string): Promise<OwnDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const server = new Client({ connectionString: serverUrl('postgres') });
  await server.connect();
  await server.query(`CREATE DATABASE ${server.escapeIdentifier(name)}`);
  const url = serverUrl(name);
  const client = new Client({ connectionString: url });
  await client.connect();
  return {
    url,
    client,
    async drop() {
      await client.end();
      await server.query(`DROP DATABASE IF EXISTS ${server.escapeIdentifier(name)} WITH (FORCE)`);
      await server.end();
    },
  };
}
