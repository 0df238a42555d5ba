// Scenario telemetry (issue 19): what the session library's OpenTelemetry instrumentation
// costs. Three app starts, one after the other, each the cached-mode demo on PostgreSQL:
//   no-api  @opentelemetry/api cannot be resolved (bench/lib/otel-absent.cjs): the library
//           finds no API, as in an app that does not install it;
//   api     the API installed and loaded, no SDK registered (the demo's default, METRICS=off):
//           the library sees no-op providers and wraps nothing;
//   sdk     METRICS=on (the metrics SDK read by the Prometheus exporter) and a tracing SDK
//           preloaded (bench/lib/otel-tracing.cjs): every refresh and store call is timed
//           and traced.
// In each: GET /api/me (bearer) interleaved with the same app's baseline route, then
// POST /auth/refresh interleaved with it, `settings.rounds` rounds each. Each ratio is to
// the baseline of the same app and run, so the variants compare through their ratios.
import { fileURLToPath } from 'node:url';

const ABSENT = fileURLToPath(new URL('./otel-absent.cjs', import.meta.url));
const TRACING = fileURLToPath(new URL('./otel-tracing.cjs', import.meta.url));

export const TELEMETRY_VARIANTS = [
  { name: 'no-api', description: '`@opentelemetry/api` absent', env: { METRICS: 'off' }, preload: [ABSENT] },
  { name: 'api', description: 'API loaded, no SDK (`METRICS=off`)', env: { METRICS: 'off' }, preload: [] },
  { name: 'sdk', description: 'metrics SDK (`METRICS=on`) and tracing SDK on', env: { METRICS: 'on' }, preload: [TRACING] },
];

const baselineRoute = { name: 'baseline', path: '/bench/me' };

/** The value of a Prometheus sample (summed over its label sets) in a /metrics text. */
function sampleSum(text, name) {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/**
 * Runs the scenario. `h` holds run.mjs's helpers: { start, stop, loadInterleaved, refreshRounds,
 * say, describeRun, describeRatios, settings, register, login, expectStatus, request, benchEmail,
 * password }. Resolves to { variants: [{ name, description, me: { baseline, runs }, refresh: { baseline, runs }, checks }] }.
 */
export async function telemetryScenario(h) {
  const variants = [];
  for (const variant of TELEMETRY_VARIANTS) {
    const label = `telemetry-${variant.name}`;
    const app = await h.start(`app-${label}`, 'cached', 'postgres', 'express', { env: variant.env, preload: variant.preload });
    try {
      const email = h.benchEmail();
      await h.register(app.url, email, h.password);
      const session = await h.login(app.url, email, h.password);
      const bearer = { name: 'bearer', path: '/api/me', headers: { authorization: `Bearer ${session.accessToken}` } };
      const me = { baseline: [], runs: [] };
      for (let round = 1; round <= h.settings.rounds; round++) {
        const run = await h.loadInterleaved(app, { routes: [baselineRoute, bearer] });
        me.baseline.push(run.routes.baseline);
        me.runs.push(run.routes.bearer);
        h.say(h.describeRun(`${label} baseline #${round}`, run.routes.baseline));
        h.say(h.describeRun(`${label} bearer #${round}`, run.routes.bearer));
        h.say(h.describeRatios(`${label} me ratio #${round}`, run, ['bearer']));
      }
      const noop = { ready: async () => undefined, round: (fn) => fn(), after: async () => undefined };
      const { baseline, runs } = await h.refreshRounds(app, email, { label: `${label} refresh`, rounds: h.settings.rounds, hooks: noop });
      // The variant is what it claims: /metrics serves the refreshes only with the SDK on.
      const metrics = await h.request(app.url, 'GET', '/metrics');
      const refreshes = metrics.status === 200 ? sampleSum(String(metrics.text ?? metrics.body ?? ''), 'tessera_session_refreshes_total') : 0;
      if (variant.name === 'sdk' && !(refreshes > 0)) throw new Error(`${label}: /metrics counted no refresh (status ${metrics.status})`);
      if (variant.name !== 'sdk' && metrics.status !== 404) throw new Error(`${label}: /metrics answered ${metrics.status}, not 404`);
      h.say(`${label}: GET /metrics ${metrics.status}${variant.name === 'sdk' ? `, ${refreshes} refreshes counted` : ''}`);
      variants.push({ name: variant.name, description: variant.description, me, refresh: { baseline, runs }, refreshesCounted: refreshes });
    } finally {
      await h.stop(app);
    }
  }
  return { variants };
}
