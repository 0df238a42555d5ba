// The interleaved mode of bench/load.mjs: one autocannon run whose connections send the
// routes in turn, switching route every `sliceMs`, so that the machine's speed drifts hit
// every route alike. See runInterleaved() for the options and the output.
//
// What autocannon 9 guarantees (lib/requestIterator.js, lib/httpClient.js, lib/run.js):
// - With one entry in `requests`, each connection calls nextRequest() before every request
//   but its first: that resets `context` (a clone of `initialContext`) and calls
//   setupRequest(request, context) right before the request is written. onResponse gets
//   `this.context`, which only the next nextRequest() replaces, and that runs after
//   onResponse (kOnMessageComplete: recordBody, then _doRequest). With pipelining 1 (the
//   default) the `context` onResponse sees is the very object setupRequest filled in for
//   that request.
// - A connection's first request is built twice: in its constructor (`context` is the
//   empty initial context) and again by setupClient below, which puts the connection's
//   slot in its context; only builds with a slot are counted.
// - Errors and timeouts are emitted per connection, without the request: 'connError' is
//   emitted before the connection reconnects and builds its next request, so the request
//   the slot has in flight is the failed one; 'timeout' is emitted after the reconnect has
//   built the next request, so the timed-out request is the one the slot had in flight
//   before (kept per slot below). Both are therefore attributed per route; one that finds
//   no request (none seen) is counted in `unattributed` and added to every route's errors.
// - tracker.stop() only takes effect at the next `sampleInt` tick, so the run uses a
//   100 ms sampleInt, and routes keep rotating (unmeasured) until autocannon has stopped.
//
// Attribution. At a switch the connections still have the previous route's requests in
// flight (one per connection); the app serves them at the start of the new slice, and
// each answer lets its connection send a request of the new route. Counting a whole
// slice's time, CPU and queries for the requests it sent (`bySend` below) credits every
// route with its predecessor's leftovers: with 250 ms slices and 50 connections that
// moved POST /auth/refresh ÷ baseline from 0.30 (2 s slices) to 0.35, and a toy route 3×
// as costly as another from 0.39 to 0.50. So each slice is measured from a *drain* to its
// end. Drain level 1: every request sent before the slice is answered; level L + 1: every
// request the slice sent before level L is answered too. After level 1 only the slice's
// route is in flight, but its requests all arrived at once, and the app has not yet
// settled into its steady mix (refresh showed 1.04–1.08 queries per request measured from
// level 1 with 250 ms slices, 1.01 with 2 s slices); from level 2 (the default,
// `settleLevel`) what is in flight was sent into an app serving that route only.
// Per route, the top-level figures count the requests sent in those settled parts of its
// slices: their answers, latencies, the parts' time and the app's CPU time in them.
// Queries are the exception (exact counts matter there): the whole run's queries, from its
// first request until the app has served its last, shared among the routes by what their
// settled parts show (see shareQueries), per request each route sent in the run.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import autocannon from 'autocannon';
import { clkTck, cpuTicks, monotonicMicros } from './util.mjs';

/**
 * Cumulative CPU time (ms) of process `pid`: the sum over its threads of the first field
 * of /proc/<pid>/task/<tid>/schedstat (ns on CPU), each thread counted since the previous
 * read (threads that appear later are counted in full, one that exits loses its last
 * few ms); without schedstat, utime + stime of /proc/<pid>/stat (clock ticks, 10 ms each).
 * One read costs about 0.2 ms with the app's 11 threads.
 */
export function cpuClock(pid) {
  const taskDir = `/proc/${pid}/task`;
  if (!existsSync(`${taskDir}/${pid}/schedstat`)) {
    const perTick = 1000 / clkTck();
    return { source: 'stat', read: () => cpuTicks(pid) * perTick };
  }
  let last = new Map();
  let totalNs = 0;
  return {
    source: 'schedstat',
    read() {
      const now = new Map();
      for (const tid of readdirSync(taskDir)) {
        let ns;
        try {
          ns = Number(readFileSync(`${taskDir}/${tid}/schedstat`, 'utf8').split(' ', 1)[0]);
        } catch {
          continue; // the thread exited between readdir and read
        }
        totalNs += ns - (last.get(tid) ?? 0);
        now.set(tid, ns);
      }
      last = now;
      return totalNs / 1e6;
    },
  };
}

/** The app's query counts ({ total, byKind }) at each monotonic time (µs) of `times`. */
async function countsAt(counterUrl, times) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (list) =>
    new Promise((resolve, reject) => {
      const url = `${counterUrl}${counterUrl.includes('?') ? '&' : '?'}at=${list.map((t) => Math.round(t)).join(',')}`;
      const req = http.get(url, { agent, timeout: 10_000 }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`query counter answered ${res.statusCode}: ${text}`));
          try {
            const body = JSON.parse(text);
            if (!Array.isArray(body.at)) throw new Error('query counter gave no `at` counts');
            resolve(body.at);
          } catch (error) {
            reject(error);
          }
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('query counter timed out')));
      req.on('error', reject);
    });
  try {
    const out = [];
    for (let i = 0; i < times.length; i += 200) out.push(...(await get(times.slice(i, i + 200))));
    return out;
  } finally {
    agent.destroy();
  }
}

/**
 * Route of slice `k`. Two routes: A B A B …. More: rounds alternate between the list's
 * order and its reverse after the first (A B C, A C B, …), so that with three routes,
 * over two rounds, every route follows every other exactly once.
 */
export function routeOfSlice(k, n) {
  const position = k % n;
  if (n < 3 || Math.floor(k / n) % 2 === 0) return position;
  return position === 0 ? 0 : n - position;
}

/** Whole rounds (every route once) covering at least `seconds`; even when the order alternates. */
export function roundsFor(seconds, n, sliceMs) {
  let rounds = Math.max(1, Math.ceil((seconds * 1000) / (n * sliceMs) - 1e-9));
  if (n >= 3 && rounds % 2 === 1) rounds++;
  return rounds;
}

/** Nearest-rank percentiles of latency samples (ms), rounded to 0.1 ms. */
function latencyStats(samples) {
  if (samples.length === 0) return { p50: undefined, p90: undefined, p99: undefined, max: undefined, mean: undefined };
  const sorted = Float64Array.from(samples).sort();
  const at = (p) => sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
  const round = (v) => Math.round(v * 10) / 10;
  let sum = 0;
  for (const v of sorted) sum += v;
  return { p50: round(at(50)), p90: round(at(90)), p99: round(at(99)), max: round(sorted[sorted.length - 1]), mean: round(sum / sorted.length) };
}

function addKindDelta(into, after, before) {
  for (const [kind, n] of Object.entries(after.byKind)) {
    const delta = n - (before.byKind[kind] ?? 0);
    if (delta !== 0) into[kind] = (into[kind] ?? 0) + delta;
  }
}

/**
 * Shares the queries of a whole measured run (`end` minus `start` counts: from its first
 * request until the app has served its last) among the routes: each kind of statement in
 * proportion to what the route's settled windows (`tallies`) show of it per request sent,
 * times the requests the route sent in the run (`sent`); a kind no window saw goes by the
 * routes' settled queries of all kinds, and failing those by requests sent. With one
 * route that queries (the baseline never does) it gets them all: exact whatever the slices.
 */
function shareQueries(end, start, tallies, sent) {
  const shares = tallies.map(() => ({ queries: 0, byKind: {} }));
  const rate = (tally, count) => (tally.sent > 0 ? count / tally.sent : 0);
  const fallback = tallies.map((t, i) => rate(t, t.queries) * sent[i]);
  const bySent = sent.map((n) => n);
  for (const [kind, total] of Object.entries(end.byKind)) {
    const count = total - (start.byKind[kind] ?? 0);
    if (count === 0) continue;
    let weights = tallies.map((t, i) => rate(t, t.queriesByKind[kind] ?? 0) * sent[i]);
    if (!weights.some((w) => w > 0)) weights = fallback.some((w) => w > 0) ? fallback : bySent;
    const sum = weights.reduce((a, b) => a + b, 0);
    if (sum <= 0) continue;
    for (const [i, w] of weights.entries()) {
      const share = (count * w) / sum;
      if (share === 0) continue;
      shares[i].queries += share;
      shares[i].byKind[kind] = share;
    }
  }
  return shares;
}

/** Drain levels tracked (see `advance` in runInterleaved). */
const LEVELS = [1, 2, 3];

const newTally = () => ({
  sent: 0,
  responses: 0,
  ok2xx: 0,
  non2xx: 0,
  errors: 0,
  timeouts: 0,
  statusCodes: {},
  latencies: [],
  durationMs: 0,
  cpuMs: 0,
  queries: 0,
  queriesByKind: {},
  windows: [],
});

/**
 * Options: { url, routes: [{ name, method?, path, headers?, body?, refresh? }], sliceMs?
 * (250), connections? (50), warmup (s), duration (s), pid?, counterUrl?, refreshTokens?,
 * warmupRefreshTokens?, settleLevel? (2) }. Refresh tokens: one per connection, for a
 * `refresh: true` route, which POSTs { refreshToken } and keeps the token each 200 answer
 * returns (per connection slot; other routes' slices leave it alone).
 *
 * An interleaved warm-up of at least `warmup` s, a 300 ms pause, `waitForGo()`, then the
 * measured run: `duration` s rounded up to whole rounds, every route the same number of
 * slices. Returns { routes: { <name>: figures }, warmupSent, slices, sliceMs, window,
 * unattributed, cpuSource }, where figures = { requests, sent, rps, durationSec, latency
 * { p50, p90, p99, max, mean } (ms, 0.1 ms resolution), ok2xx, non2xx, errors, timeouts,
 * statusCodes, cpuMs, cpuMsPerRequest, windows } over the settled parts of the route's
 * slices, { queries, queriesByKind, dbSent, dbPerRequest } over the whole run, slices,
 * sliceSec (the route's whole slice time), warmupSent, totalSent (all it sent in this
 * process), and for comparison `bySend` (whole slices) and `byLevel` (each drain level).
 */
export async function runInterleaved(options, waitForGo) {
  const {
    url,
    routes,
    sliceMs = 250,
    connections = 50,
    warmup = 3,
    duration = 8,
    pid,
    counterUrl,
    refreshTokens,
    warmupRefreshTokens,
    settleLevel = 2,
    sliceLog = false,
  } = options;
  const n = routes.length;
  if (!LEVELS.includes(settleLevel)) throw new Error(`settleLevel: one of ${LEVELS.join(', ')}`);
  if (n < 1) throw new Error('routes: at least one route');
  if (routes.some((r) => r.refresh) && !refreshTokens) throw new Error('a refresh route needs refreshTokens');
  const cpu = pid ? cpuClock(pid) : undefined;
  // Every request sent, per route, warm-up and unmeasured tails included.
  const allSent = new Array(n).fill(0);

  /** One autocannon run over `rounds` rounds of slices; `measured` keeps the per-route tallies. */
  function phase(rounds, tokenSet, measured) {
    const tokens = tokenSet ? [...tokenSet] : undefined;
    const totalSlices = rounds * n;
    const sent = new Array(n).fill(0);
    const tallies = routes.map(() => ({ slice: newTally(), levels: LEVELS.map(() => newTally()) }));
    const unattributed = { errors: 0, timeouts: 0 };
    // boundaries[k] opens slice k (boundaries[totalSlices] closes the measured window);
    // drains[k][L - 1]: when slice k reached drain level L (see `advance`).
    const boundaries = [];
    const drains = [];
    const inflight = [];
    let totalInflight = 0;
    let current = 0;
    // The current slice's drain level, and its requests in flight by the level they were sent at.
    let level = 0;
    let byLevel = LEVELS.map(() => 0).concat(0);
    const pendingBySlot = [];
    const lostBySlot = [];
    const settledAnswers = []; // per slice: answers to requests sent in its settled part
    let instance;
    let stopped = false;

    const reading = () => ({ t: performance.now(), mono: monotonicMicros(), cpu: measured ? cpu?.read() : undefined });
    /**
     * Drain levels of the current slice: 1 when every request sent before the slice is
     * answered (or given up); L + 1 when every request of the slice sent before level L
     * was reached is answered too. From level 2 on, what is in flight was sent into an
     * app that served this route only.
     */
    const advance = () => {
      if (level === 0 && totalInflight === inflight[current]) {
        level = 1;
        drains[current] = [reading()];
      }
      while (level >= 1 && level < LEVELS.length && byLevel[level - 1] === 0) {
        level++;
        drains[current].push(reading());
      }
    };
    // After the last slice, stop once the window's requests are answered (autocannon drops
    // what is in flight when it stops), or 5 s after the window.
    const maybeStop = () => {
      if (stopped || current < totalSlices) return;
      let windowInflight = 0;
      for (let k = 0; k < totalSlices; k++) windowInflight += inflight[k];
      if (windowInflight === 0 || performance.now() - boundaries[totalSlices].t >= 5_000) {
        stopped = true;
        instance.stop();
      }
    };
    const settle = (context) => {
      inflight[context.slice]--;
      totalInflight--;
      if (context.slice === current) byLevel[context.level]--;
      if (level < LEVELS.length) advance();
      if (context.slice < totalSlices && current >= totalSlices) maybeStop();
    };
    /** The tallies a request counts in: its whole slice's, and each level's it was sent at or after. */
    const talliesOf = (context) => {
      const t = tallies[context.route];
      const out = [t.slice];
      for (let L = 1; L <= context.level && L <= LEVELS.length; L++) out.push(t.levels[L - 1]);
      return out;
    };

    const request = {
      method: 'GET',
      path: routes[0].path,
      setupRequest(req, context) {
        const slot = context.slot;
        const index = routeOfSlice(current, n);
        const route = routes[index];
        req.method = route.method ?? (route.refresh ? 'POST' : 'GET');
        req.path = route.path;
        req.headers = { ...(route.refresh || route.body !== undefined ? { 'content-type': 'application/json' } : {}), ...route.headers };
        if (route.refresh) req.body = JSON.stringify({ refreshToken: tokens[slot ?? 0] });
        else req.body = route.body === undefined ? undefined : JSON.stringify(route.body);
        // The constructor's build (no slot yet) is replaced by setupClient's rebuild.
        if (slot === undefined) return req;
        const previous = pendingBySlot[slot];
        if (previous) {
          // Never answered: it timed out or its connection failed (see setupClient).
          settle(previous);
          lostBySlot[slot] = previous;
        }
        context.route = index;
        context.slice = current;
        context.measured = measured && current < totalSlices;
        context.level = level;
        pendingBySlot[slot] = context;
        inflight[current]++;
        byLevel[level]++;
        totalInflight++;
        sent[index]++;
        allSent[index]++;
        if (context.measured) for (const t of talliesOf(context)) t.sent++;
        context.t = performance.now();
        return req;
      },
      onResponse(status, body, context) {
        const now = performance.now();
        if (context.slot === undefined || pendingBySlot[context.slot] !== context) return;
        pendingBySlot[context.slot] = undefined;
        settle(context);
        if (routes[context.route].refresh && status === 200) {
          try {
            tokens[context.slot] = JSON.parse(body).refreshToken;
          } catch {
            // keep the old token; the next response shows the problem as a non-2xx
          }
        }
        if (!context.measured) return;
        if (context.level >= settleLevel) settledAnswers[context.slice] = (settledAnswers[context.slice] ?? 0) + 1;
        const ok = status >= 200 && status < 300;
        for (const t of talliesOf(context)) {
          t.responses++;
          if (ok) t.ok2xx++;
          else t.non2xx++;
          t.statusCodes[status] = (t.statusCodes[status] ?? 0) + 1;
          t.latencies.push(now - context.t);
        }
      },
    };

    let nextSlot = 0;
    const setupClient = (client) => {
      const slot = nextSlot++ % connections;
      const failed = (context, timeout) => {
        if (context?.measured) {
          for (const t of talliesOf(context)) {
            t.errors++;
            if (timeout) t.timeouts++;
          }
        } else if (!context && measured && current < totalSlices) {
          unattributed.errors++;
          if (timeout) unattributed.timeouts++;
        }
      };
      client.on('connError', () => failed(pendingBySlot[slot], false));
      client.on('timeout', () => failed(lostBySlot[slot], true));
      client.requestIterator.initialContext = { slot };
      client.requestIterator.resetContext();
      client.requestIterator.rebuildRequest();
    };

    return new Promise((resolve, reject) => {
      boundaries[0] = reading();
      inflight[0] = 0;
      // No advance() here: slice 0 reaches level 1 at the first answer, and level 2 once the
      // connections' first requests (which wait for the connections to open) are answered.
      instance = autocannon({
        url,
        connections,
        // Stopped after the last slice (maybeStop); this is only a safety net.
        duration: Math.ceil((totalSlices * sliceMs) / 1000) + 30,
        sampleInt: 100,
        requests: [request],
        setupClient,
        timeout: 20,
      });
      // The one clock of the slices: every switch happens here.
      const timer = setInterval(() => {
        const next = current + 1;
        if (next <= totalSlices) boundaries[next] = reading();
        inflight[next] = 0;
        current = next;
        level = 0;
        byLevel = byLevel.map(() => 0);
        advance();
        maybeStop();
      }, sliceMs);
      instance.then(
        async () => {
          clearInterval(timer);
          try {
            if (current < totalSlices) throw new Error(`autocannon ended after ${current} of ${totalSlices} slices`);
            if (!measured) return resolve({ sent });
            // autocannon dropped its connections with requests in flight: let the app
            // serve them, so that the run's query total holds all of their queries.
            await new Promise((done) => setTimeout(done, 300));
            resolve(await summarize(reading()));
          } catch (error) {
            reject(error);
          }
        },
        (error) => {
          clearInterval(timer);
          reject(error);
        },
      );
    });

    async function summarize(end) {
      let q;
      let dq;
      let qEnd;
      if (counterUrl) {
        // By index: a slice that never drained (a stall longer than the slice) is a hole in `drains`.
        const drainTimes = LEVELS.flatMap((L) => Array.from({ length: totalSlices }, (_, k) => drains[k]?.[L - 1]?.mono ?? 0));
        const counts = await countsAt(counterUrl, [...boundaries.map((b) => b.mono), ...drainTimes, end.mono]);
        q = counts.slice(0, boundaries.length);
        dq = LEVELS.map((L) => counts.slice(boundaries.length + (L - 1) * totalSlices, boundaries.length + L * totalSlices));
        qEnd = counts[counts.length - 1];
      }
      const log = [];
      for (let k = 0; k < totalSlices; k++) {
        const { slice, levels } = tallies[routeOfSlice(k, n)];
        const from = boundaries[k];
        const to = boundaries[k + 1];
        if (sliceLog) {
          const d = drains[k]?.[settleLevel - 1];
          log.push({
            route: routes[routeOfSlice(k, n)].name,
            ms: +(to.t - from.t).toFixed(1),
            settledMs: d && d.t < to.t ? +(to.t - d.t).toFixed(1) : 0,
            settledRequests: settledAnswers[k] ?? 0,
            cpuMs: cpu ? +(to.cpu - from.cpu).toFixed(2) : undefined,
            settledCpuMs: cpu && d && d.t < to.t ? +(to.cpu - d.cpu).toFixed(2) : undefined,
            drainsMs: (drains[k] ?? []).map((x) => +(x.t - from.t).toFixed(1)),
          });
        }
        const add = (tally, start, startQueries) => {
          tally.durationMs += to.t - start.t;
          tally.windows.push({ from: start.mono, to: to.mono });
          if (cpu) tally.cpuMs += to.cpu - start.cpu;
          if (q) {
            tally.queries += q[k + 1].total - startQueries.total;
            addKindDelta(tally.queriesByKind, q[k + 1], startQueries);
          }
        };
        add(slice, from, q?.[k]);
        for (const L of LEVELS) {
          const d = drains[k]?.[L - 1];
          if (d && d.t < to.t) add(levels[L - 1], d, dq?.[L - 1]?.[k]);
        }
      }
      const figures = (tally) => {
        const durationSec = tally.durationMs / 1000;
        return {
          requests: tally.responses,
          sent: tally.sent,
          rps: durationSec > 0 ? tally.responses / durationSec : undefined,
          durationSec,
          latency: latencyStats(tally.latencies),
          ok2xx: tally.ok2xx,
          non2xx: tally.non2xx,
          errors: tally.errors + unattributed.errors,
          timeouts: tally.timeouts + unattributed.timeouts,
          statusCodes: tally.statusCodes,
          cpuMs: cpu ? tally.cpuMs : undefined,
          cpuMsPerRequest: cpu && tally.responses > 0 ? tally.cpuMs / tally.responses : undefined,
          queries: q ? tally.queries : undefined,
          queriesByKind: q ? tally.queriesByKind : undefined,
          dbPerRequest: q && tally.sent > 0 ? tally.queries / tally.sent : undefined,
          windows: tally.windows,
        };
      };
      const out = {};
      const brief = (f) => ({
        rps: f.rps,
        durationSec: f.durationSec,
        sent: f.sent,
        cpuMsPerRequest: f.cpuMsPerRequest,
        dbPerRequest: f.dbPerRequest,
        p50: f.latency.p50,
        p99: f.latency.p99,
      });
      const shares = q ? shareQueries(qEnd, q[0], tallies.map((t) => t.levels[settleLevel - 1]), sent) : undefined;
      for (const [i, route] of routes.entries()) {
        const { slice, levels } = tallies[i];
        const bySend = figures(slice);
        const byLevel = levels.map(figures);
        const settled = byLevel[settleLevel - 1];
        out[route.name] = {
          ...settled,
          // Queries: the route's share of all the run's queries, per request it sent in the run.
          ...(shares
            ? {
                queries: shares[i].queries,
                queriesByKind: shares[i].byKind,
                dbSent: sent[i],
                dbPerRequest: sent[i] > 0 ? shares[i].queries / sent[i] : undefined,
                settledDbPerRequest: settled.dbPerRequest,
              }
            : {}),
          slices: bySend.windows.length,
          sliceSec: bySend.durationSec,
          settleLevel,
          bySend: { ...bySend, windows: undefined },
          byLevel: byLevel.map(brief),
        };
      }
      return {
        sent,
        routes: out,
        ...(sliceLog ? { sliceLog: log } : {}),
        unattributed,
        window: { from: boundaries[0].mono, to: boundaries[totalSlices].mono },
        slices: totalSlices,
      };
    }
  }

  let warmupSent = new Array(n).fill(0);
  if (warmup > 0) {
    warmupSent = (await phase(roundsFor(warmup, n, sliceMs), warmupRefreshTokens ?? refreshTokens, false)).sent;
    // autocannon drops the connections of the warm-up: let the server finish what was in flight.
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  await waitForGo();
  const result = await phase(roundsFor(duration, n, sliceMs), refreshTokens, true);
  for (const [i, route] of routes.entries()) {
    const r = result.routes[route.name];
    r.warmupSent = warmupSent[i];
    // Everything the route sent in this process, warm-up and the unmeasured tail after the
    // window included: what the app's database work for it is to be divided by.
    r.totalSent = allSent[i];
  }
  return {
    routes: result.routes,
    ...(result.sliceLog ? { sliceLog: result.sliceLog } : {}),
    warmupSent: warmupSent.reduce((a, b) => a + b, 0),
    slices: result.slices,
    sliceMs,
    window: result.window,
    unattributed: result.unattributed,
    cpuSource: cpu?.source,
  };
}
