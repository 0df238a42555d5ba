import { CreateTesseraSessions1764201600000 } from './1764201600000-create-tessera-sessions';

/** Migrations of the session table, oldest first; add them to your DataSource's `migrations`. */
export const sessionMigrations = [CreateTesseraSessions1764201600000];

export { CreateTesseraSessions1764201600000 };
