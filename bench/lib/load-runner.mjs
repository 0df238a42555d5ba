// Runs bench/load.mjs in a separate process and measures the server around its measured run.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { clkTck, cpuTicks, monotonicMicros } from './util.mjs';

const children = new Set();

/** Kills load processes still running (used on SIGINT). */
export function killLoads() {
  for (const child of children) child.kill('SIGKILL');
}

/**
 * Spawns `node bench/load.mjs <args>`. When `app` is given, reads the app's CPU time
 * (/proc/<pid>/stat) and its query counter when the warm-up is over, before telling
 * load.mjs to start the measured run, and again when the measured run has ended.
 *
 * With `args.routes` (interleaved mode) load.mjs measures the app itself, per route (it
 * gets the app's pid and query counter); resolves to { routes: { <name>: result }, window,
 * slices, sliceMs, warmupSent, unattributed, cpuSource }, each result shaped like a
 * single run's (requests, sent, rps, latency, ..., window) plus `windows` (the measured
 * parts of its slices, monotonic µs), `totalSent` and `bySend`.
 */
export function runLoad({ benchDir, args, app }) {
  if (Array.isArray(args.routes)) return runInterleavedLoad({ benchDir, args, app });
  const child = spawn(process.execPath, [join(benchDir, 'load.mjs'), JSON.stringify(args)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  let before;
  let beforeDone = Promise.resolve();
  let snapshotError;
  const snapshot = async () => ({
    ticks: app ? cpuTicks(app.pid) : 0,
    queries: app ? await app.queries() : undefined,
    at: monotonicMicros(),
  });
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    if (before === undefined && stderr.includes('BENCH_PHASE ready')) {
      before = null;
      beforeDone = snapshot().then(
        (value) => {
          before = value;
          child.stdin.end('go\n');
        },
        (error) => {
          snapshotError = error;
          child.kill('SIGKILL');
        },
      );
    }
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', async (code) => {
      children.delete(child);
      try {
        const after = await snapshot();
        await beforeDone;
        if (snapshotError) throw snapshotError;
        const line = stdout.trim().split('\n').pop();
        if (code !== 0 || !line || !before) {
          throw new Error(`load.mjs exited with ${code}: ${stderr.replace(/BENCH_PHASE ready\n?/, '').trim().slice(-2000)}`);
        }
        const result = JSON.parse(line);
        const cpuMs = ((after.ticks - before.ticks) * 1000) / clkTck();
        let queries;
        let queriesByKind;
        if (app) {
          queries = after.queries.total - before.queries.total;
          queriesByKind = Object.fromEntries(
            Object.entries(after.queries.byKind)
              .map(([kind, n]) => [kind, n - (before.queries.byKind[kind] ?? 0)])
              .filter(([, n]) => n > 0),
          );
        }
        resolve({
          ...result,
          cpuMs,
          cpuMsPerRequest: app && result.requests > 0 ? cpuMs / result.requests : undefined,
          queries,
          queriesByKind,
          // Per request sent: requests cut off at the end were still served (and queried) by the app.
          dbPerRequest: app && result.sent > 0 ? queries / result.sent : undefined,
          window: { from: before.at, to: after.at },
        });
      } catch (error) {
        reject(error);
      }
    });
  });
}

function runInterleavedLoad({ benchDir, args, app }) {
  const full = { ...args, ...(app ? { pid: app.pid, counterUrl: app.counterUrl } : {}) };
  const child = spawn(process.execPath, [join(benchDir, 'load.mjs'), JSON.stringify(full)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  let ready = false;
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    if (!ready && stderr.includes('BENCH_PHASE ready')) {
      ready = true;
      child.stdin.end('go\n');
    }
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      children.delete(child);
      try {
        const line = stdout.trim().split('\n').pop();
        if (code !== 0 || !line || !ready) {
          throw new Error(`load.mjs exited with ${code}: ${stderr.replace(/BENCH_PHASE ready\n?/, '').trim().slice(-2000)}`);
        }
        const result = JSON.parse(line);
        for (const route of Object.values(result.routes)) route.window = result.window;
        resolve(result);
      } catch (error) {
        reject(error);
      }
    });
  });
}
