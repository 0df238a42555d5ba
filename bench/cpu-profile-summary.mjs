// Aggregates the self time of a .cpuprofile (node --cpu-prof) by function name and URL.
// Usage: node bench/cpu-profile-summary.mjs <file.cpuprofile> [--top N] [--from µs --to µs]
// (--from/--to: monotonic microseconds, the clock of the profile's timestamps).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

function shortUrl(url) {
  if (!url) return '';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

const keyOf = (frame) =>
  `${frame.functionName || '(anonymous)'}\u0000${shortUrl(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;

/**
 * Self time per function (name + URL) over the samples inside `windows`
 * ([{ from, to }] in the profile's microseconds), or over all samples; each sample
 * is charged the time until the next one. Also the inclusive (self + callees) time of
 * the functions in the demo app's bundle, to see which of its steps the time is under.
 */
export function summarize(profile, { windows, top = 15, requests } = {}) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map();
  const inclusive = new Map();
  let total = 0;
  let idle = 0;
  let at = profile.startTime;
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    at += timeDeltas[i];
    const span = i + 1 < samples.length ? timeDeltas[i + 1] : 0;
    if (windows && !windows.some((w) => at >= w.from && at <= w.to)) continue;
    const frame = nodes.get(samples[i]).callFrame;
    if (frame.functionName === '(idle)') {
      idle += span;
      continue;
    }
    const key = keyOf(frame);
    self.set(key, (self.get(key) ?? 0) + span);
    total += span;
    const seen = new Set();
    for (let id = samples[i]; id !== undefined; id = parent.get(id)) {
      const f = nodes.get(id).callFrame;
      if (!f.url.includes('/dist/apps/')) continue;
      const k = keyOf(f);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + span);
    }
  }
  const rows = (map) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, micros]) => {
        const [name, where] = key.split('\u0000');
        return {
          name,
          where,
          selfMs: micros / 1000,
          share: total > 0 ? micros / total : 0,
          microsPerRequest: requests ? micros / requests : undefined,
        };
      });
  return { requests, busyMs: total / 1000, idleMs: idle / 1000, rows: rows(self), appInclusive: rows(inclusive), self, inclusive };
}

/**
 * Per-request difference between a scenario and its baseline: the functions whose self
 * time per request grew the most (µs per request), from `summarize` results.
 */
export function extraPerRequest(scenario, scenarioRequests, baseline, baselineRequests, top = 12) {
  const keys = new Set([...scenario.self.keys(), ...baseline.self.keys()]);
  const rows = [];
  for (const key of keys) {
    const extra = (scenario.self.get(key) ?? 0) / scenarioRequests - (baseline.self.get(key) ?? 0) / baselineRequests;
    const [name, where] = key.split('\u0000');
    rows.push({ name, where, extraMicros: extra });
  }
  const totalExtra = scenario.busyMs * 1000 / scenarioRequests - baseline.busyMs * 1000 / baselineRequests;
  return { totalExtraMicros: totalExtra, rows: rows.sort((a, b) => b.extraMicros - a.extraMicros).slice(0, top) };
}

/** Text table of `summarize` output. */
export function formatSummary(summary) {
  const perRequest = summary.requests ? ` (${((summary.busyMs * 1000) / summary.requests).toFixed(1)} µs per request)` : '';
  const lines = [`busy ${summary.busyMs.toFixed(0)} ms${perRequest}, idle ${summary.idleMs.toFixed(0)} ms; top self time:`];
  for (const row of summary.rows) {
    lines.push(`${(row.share * 100).toFixed(1).padStart(5)}%  ${row.selfMs.toFixed(0).padStart(6)} ms  ${row.name}  ${row.where}`);
  }
  if (summary.appInclusive.length > 0) {
    lines.push('inclusive time (self + callees) of the app bundle’s functions:');
    for (const row of summary.appInclusive.slice(0, 12)) {
      const perRequest = row.microsPerRequest === undefined ? '' : `  ${row.microsPerRequest.toFixed(1).padStart(6)} µs/req`;
      lines.push(`${(row.share * 100).toFixed(1).padStart(5)}%  ${row.selfMs.toFixed(0).padStart(6)} ms${perRequest}  ${row.name}  ${row.where}`);
    }
  }
  return lines.join('\n');
}

/** Text table of `extraPerRequest` output. */
export function formatExtra(extra) {
  const lines = [`${extra.totalExtraMicros.toFixed(1)} µs more main-thread CPU per request than the baseline; largest increases:`];
  for (const row of extra.rows) lines.push(`${row.extraMicros.toFixed(1).padStart(7)} µs  ${row.name}  ${row.where}`);
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [file, ...rest] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node bench/cpu-profile-summary.mjs <file.cpuprofile> [--top N] [--from µs --to µs]\n');
    process.exit(2);
  }
  const flag = (name) => {
    const index = rest.indexOf(name);
    return index >= 0 ? Number(rest[index + 1]) : undefined;
  };
  const from = flag('--from');
  const to = flag('--to');
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const windows = from !== undefined || to !== undefined ? [{ from: from ?? -Infinity, to: to ?? Infinity }] : undefined;
  process.stdout.write(`${formatSummary(summarize(profile, { windows, top: flag('--top') ?? 25 }))}\n`);
}
