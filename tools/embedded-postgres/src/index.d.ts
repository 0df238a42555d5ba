// Types of the starter in index.mjs (plain ESM, so that `npm run bench` runs it unbuilt).
import type { EmbeddedPostgres, EmbeddedPostgresOptions } from './types';

export type { EmbeddedPostgres, EmbeddedPostgresOptions } from './types';

/**
 * Starts (and on first use initialises) a PostgreSQL cluster in `dataDir`, listening
 * on 127.0.0.1 only, with a random password kept in `dataDir/password` (mode 0600).
 */
export function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres>;
