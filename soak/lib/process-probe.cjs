// Preloaded into each demo instance by the soak (`node --require`): serves the process's
// memory and event-loop delay on 127.0.0.1:$SOAK_PROBE_PORT, a port of its own, so the
// app gets no new route and the numbers come from inside the process (the load's own
// latency would mix queueing in). The app does not know it is there.
//
// GET / answers { rss, heapUsed, heapTotal, external, arrayBuffers } in bytes and
// `loop` { p50, p99, max, count } in milliseconds since the previous GET (the histogram
// is reset on every read), plus `loopTotal`, the same since the start. GET /?gc=1 first
// runs a full garbage collection and adds `retained`: heapUsed after it, so that a slope
// measures what the app keeps, not when V8 last collected (heapUsed is taken before), and
// `code`: the part of it that is compiled code (V8's code spaces, which grow while the JIT
// warms up), so that `retained - code` is the app's objects alone. GET /?snapshot=<file>
// writes a heap snapshot there (after a full GC) and answers once it is written (the process
// is paused meanwhile: a leak-hunting tool, not for runs whose latency matters).
'use strict';
const http = require('node:http');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const v8 = require('node:v8');
const vm = require('node:vm');

// `gc` without starting the app with --expose-gc: the flag set at run time, the function
// taken from a new context (Node's documented way for V8 flags set after start).
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const port = Number(process.env.SOAK_PROBE_PORT);
if (port > 0) {
  // 10 ms resolution: a delay shorter than that is noise at this scale.
  const window = monitorEventLoopDelay({ resolution: 10 });
  const total = monitorEventLoopDelay({ resolution: 10 });
  window.enable();
  total.enable();
  const ms = (h) => ({
    p50: h.percentile(50) / 1e6,
    p99: h.percentile(99) / 1e6,
    max: h.max / 1e6,
    count: h.count,
  });
  const server = http.createServer((req, res) => {
    const memory = process.memoryUsage();
    const url = new URL(req.url, 'http://probe');
    let retained;
    let code;
    if (url.searchParams.get('gc') === '1') {
      gc();
      retained = process.memoryUsage().heapUsed;
      code = v8
        .getHeapSpaceStatistics()
        .filter((space) => space.space_name.startsWith('code_'))
        .reduce((sum, space) => sum + space.space_used_size, 0);
    }
    const snapshot = url.searchParams.get('snapshot');
    if (snapshot) {
      gc();
      v8.writeHeapSnapshot(snapshot);
    }
    const body = JSON.stringify({ ...memory, retained, code, snapshot: snapshot || undefined, loop: ms(window), loopTotal: ms(total) });
    window.reset();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  server.listen(port, '127.0.0.1');
  // Never keeps the app alive on its own, so SIGTERM drains as usual.
  server.unref();
}
