// The soak's bookkeeping: every answer, by route and status, with its latency; the
// contract violations (counted, the first few described); and what the model expects the
// database to hold at the end (sessions created and revoked, audit events by type).

/** Nearest-rank percentile of an ascending array. */
function rank(sorted, p) {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}

export class Tally {
  constructor({ fault }) {
    this.fault = fault;
    this.requests = 0;
    this.byStatus = new Map();
    this.latency = new Map();
    this.errors5xx = new Map();
    this.violations = 0;
    this.described = [];
    this.transportErrors = 0;
    this.failed5xx = 0;
    this.designed503 = 0;
    this.designed503Outside = 0;
    this.propagation = [];
    this.rechecks = 0;
    this.counts = new Map();
  }

  /** One answer of `route` (e.g. `POST /auth/refresh`) in `ms`. */
  answer(route, status, ms) {
    this.requests++;
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
    let list = this.latency.get(route);
    if (!list) this.latency.set(route, (list = []));
    list.push(ms);
    if (status >= 500) this.errors5xx.set(route, (this.errors5xx.get(route) ?? 0) + 1);
  }

  /** A named counter of the workload (logins, rotations, ...). */
  count(name, n = 1) {
    this.counts.set(name, (this.counts.get(name) ?? 0) + n);
  }

  get(name) {
    return this.counts.get(name) ?? 0;
  }

  /** A contract violation: counted, and described while fewer than 10 are. */
  violation(text) {
    this.violations++;
    if (this.described.length < 10) this.described.push(`${new Date().toISOString()} ${text}`);
  }

  /** p50 / p99 / count per route, slowest p99 first. */
  routes() {
    return [...this.latency.entries()]
      .map(([route, list]) => {
        const sorted = [...list].sort((a, b) => a - b);
        return { route, count: sorted.length, errors5xx: this.errors5xx.get(route) ?? 0, p50: rank(sorted, 50), p99: rank(sorted, 99), max: sorted.at(-1) };
      })
      .sort((a, b) => a.route.localeCompare(b.route));
  }
}

/** Least-squares slope of `ys` over `xs` (units of y per unit of x). */
export function slope(xs, ys) {
  const n = xs.length;
  if (n < 2) return undefined;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? undefined : num / den;
}

export { rank as percentileOfSorted };
