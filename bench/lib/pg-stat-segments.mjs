// Database transactions per request from pg_stat_database, read only when settled.
//
// A PostgreSQL backend publishes its counters at most once a second, and what is left
// when it goes idle only about 10 s later, so a read right after a run misses up to a
// second of its traffic. Reads are therefore taken only after 10.5 s without database
// load (after each interleaved round of baseline and scenario routes; the baseline
// route never touches the database), and each reading closes a segment: the database
// runs since the previous reading, whose transactions are divided by all the requests
// they sent (warm-up, measured and, for interleaved runs, the scenario route's requests
// sent outside the measured window: `totalSent`).
import { sleep } from './util.mjs';

const SETTLE_MS = 10_500;

export class PgStatSegments {
  constructor(db) {
    this.db = db;
    this.quietSince = Date.now();
    this.reset();
  }

  /** Forgets the open segment (a new app start). */
  reset() {
    this.last = undefined;
    this.pending = [];
  }

  /** Database load just ended (a scenario run, logins made for setup, ...). */
  activity() {
    this.quietSince = Date.now();
  }

  /** A run whose database use belongs to the open segment. */
  add(run) {
    this.pending.push(run);
    this.activity();
  }

  /**
   * Reads the settled counter (waiting if the last database load was less than 10.5 s
   * ago) and closes the open segment: each of its runs gets `pgXactsPerRequest` and
   * `pgSegment` (how many runs shared the segment).
   */
  async close() {
    const wait = this.quietSince + SETTLE_MS - Date.now();
    if (wait > 0) await sleep(wait);
    const reading = await this.db.transactions();
    if (this.last !== undefined && this.pending.length > 0) {
      const xacts = reading - this.last;
      const requests = this.pending.reduce((sum, run) => sum + (run.totalSent ?? run.sent + run.warmupSent), 0);
      for (const run of this.pending) {
        run.pgXactsPerRequest = requests > 0 ? xacts / requests : undefined;
        run.pgSegment = this.pending.length;
      }
    }
    this.last = reading;
    this.pending = [];
  }
}
