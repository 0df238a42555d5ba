// One load run in its own process: a warm-up, then a measured run, with autocannon.
// Usage: node bench/load.mjs '<json>' where the JSON holds
//   { url, method?, path, headers?, body?, connections, warmup (s), duration (s), overallRate? }
// After the warm-up it lets in-flight requests finish, prints "BENCH_PHASE ready" on
// stderr and waits for a line on stdin (the parent reads its counters meanwhile), then
// runs the measured run and prints exactly one JSON line with its results on stdout.
//
// Interleaved mode, when the JSON holds `routes: [{ name, method?, path, headers?, body?,
// refresh? }, ...]` (and optionally `sliceMs`, default 250; `pid` and `counterUrl` of the
// app; refreshTokens / warmupRefreshTokens, one per connection, for a `refresh` route):
// one autocannon run whose connections switch route every sliceMs; see
// bench/lib/interleaved-load.mjs.
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { runInterleaved } from './lib/interleaved-load.mjs';

const options = JSON.parse(process.argv[2] ?? '{}');

/** "BENCH_PHASE ready" on stderr, then waits for a line on stdin. */
async function waitForGo() {
  const lines = createInterface({ input: process.stdin });
  const go = new Promise((resolve) => lines.once('line', resolve));
  process.stderr.write('BENCH_PHASE ready\n');
  await go;
  lines.close();
}

if (Array.isArray(options.routes)) {
  process.stdout.write(`${JSON.stringify(await runInterleaved(options, waitForGo))}\n`);
} else {
  await singleRoute();
}

async function singleRoute() {
  const {
    url,
    method = 'GET',
    path,
    headers = {},
    body,
    connections = 50,
    warmup = 3,
    duration = 8,
    overallRate,
  } = options;

  function run(seconds) {
    return autocannon({
      url: `${url}${path}`,
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      connections,
      duration: seconds,
      overallRate,
      // autocannon's correction uses 1 ms as the expected interval whatever the rate,
      // which adds made-up samples; we report what the probe actually saw.
      ignoreCoordinatedOmission: overallRate !== undefined ? true : undefined,
      timeout: 20,
    });
  }

  let warmupSent = 0;
  if (warmup > 0) {
    const warm = await run(warmup);
    warmupSent = warm.requests.sent;
    // autocannon drops the connections of the warm-up: let the server finish what was in flight.
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  await waitForGo();
  const result = await run(duration);
  const latency = result.latency;
  process.stdout.write(
    `${JSON.stringify({
      requests: result.requests.total,
      sent: result.requests.sent,
      warmupSent,
      durationSec: result.duration,
      rps: result.requests.total / result.duration,
      latency: { p50: latency.p50, p90: latency.p90, p99: latency.p99, max: latency.max, mean: latency.average },
      ok2xx: result['2xx'],
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count])),
    })}\n`,
  );
}
