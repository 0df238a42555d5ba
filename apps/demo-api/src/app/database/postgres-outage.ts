/**
 * The demo classifies its own PostgreSQL failures (users, login attempts, audit) exactly as
 * the session store does: one function, in `@tessera/session-typeorm`.
 */
export { isPostgresOutage } from '@tessera/session-typeorm';
