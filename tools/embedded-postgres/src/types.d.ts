// The starter's types, shared by index.d.ts (for TypeScript importers) and index.mjs's JSDoc.

/** A PostgreSQL server started by this process. */
export interface EmbeddedPostgres {
  /** URL of the server's `postgres` database (add your own database name). */
  readonly serverUrl: string;
  /** URL of `database` on that server. */
  readonly url: string;
  /** Where the cluster and its password file live (`dataDir`, or a cache directory as root when `dataDir` is out of the `postgres` user's reach). */
  readonly dataDir: string;
  /** Stops the server (fast shutdown: open connections are closed). */
  stop(): Promise<void>;
}

/** Where and how to run it. */
export interface EmbeddedPostgresOptions {
  /** Directory for the cluster and its password file; reused across starts. */
  dataDir: string;
  /** Database to create if missing. */
  database: string;
  /** TCP port on 127.0.0.1. Default: a free one. */
  port?: number;
  /** Server settings passed as `-c name=value` (such as `max_connections`). Default: none. */
  settings?: Readonly<Record<string, string | number>>;
  /** Receives PostgreSQL's own log output. Default: dropped. */
  onLog?: (text: string) => void;
}
