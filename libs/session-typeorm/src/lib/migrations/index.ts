import { CreateTesseraSessions1764201600000 } from './1764201600000-create-tessera-sessions';
import { NotifyTesseraRevocations1764201800000 } from './1764201800000-notify-tessera-revocations';

/** Migrations of the session table, oldest first; add them to your DataSource's `migrations`. */
export const sessionMigrations = [CreateTesseraSessions1764201600000, NotifyTesseraRevocations1764201800000];

export { CreateTesseraSessions1764201600000, NotifyTesseraRevocations1764201800000 };

/** Channel on which the revocation trigger announces revoked session ids. */
export const REVOCATION_CHANNEL = 'tessera_sessions_revoked';
