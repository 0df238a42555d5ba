import { CreateTesseraSessions1764201600000 } from './1764201600000-create-tessera-sessions';
import { NotifyTesseraRevocations1764201800000 } from './1764201800000-notify-tessera-revocations';
import { AddTesseraSessionClaims1764806400000 } from './1764806400000-add-tessera-session-claims';
import { AddTesseraSessionAuthenticatedAt1796025600000 } from './1796025600000-add-tessera-session-authenticated-at';
import { NotifyTesseraRevocationTimes1796112000000 } from './1796112000000-notify-tessera-revocation-times';

/** Migrations of the session table, oldest first; add them to your DataSource's `migrations`. */
export const sessionMigrations = [
  CreateTesseraSessions1764201600000,
  NotifyTesseraRevocations1764201800000,
  AddTesseraSessionClaims1764806400000,
  AddTesseraSessionAuthenticatedAt1796025600000,
  NotifyTesseraRevocationTimes1796112000000,
];

export {
  CreateTesseraSessions1764201600000,
  NotifyTesseraRevocations1764201800000,
  AddTesseraSessionClaims1764806400000,
  AddTesseraSessionAuthenticatedAt1796025600000,
  NotifyTesseraRevocationTimes1796112000000,
};

/** Channel on which the revocation trigger announces revoked session ids. */
export const REVOCATION_CHANNEL = 'tessera_sessions_revoked';

/**
 * Channel on which the revocation trigger also announces when each revocation was written:
 * `<session id> <epoch milliseconds>` (PostgreSQL's clock), for the propagation-lag metric
 * only. A channel of its own: `REVOCATION_CHANNEL`'s payload stays a bare id, which
 * instances of earlier versions read during a rolling deploy.
 */
export const REVOCATION_TIME_CHANNEL = 'tessera_sessions_revoked_at';

/**
 * Channel on which `updateUserSessions` announces a user whose roles or claims changed
 * (payload: the user id). Its own channel, not a tagged payload on `REVOCATION_CHANNEL`:
 * that channel's payload is documented as a bare session id, which the trigger (and any
 * app SQL) sends and other listeners may already read; one LISTEN connection hears both.
 */
export const USER_CHANGED_CHANNEL = 'tessera_users_changed';
