// Scenario graphql-me: the GraphQL `me` query (bearer, cached mode) against a public
// GraphQL query of the same shape (`benchMe`, mounted with BENCH_ROUTES=true), interleaved
// in one run per round on one app, like the cached GET /api/me scenario against /bench/me.
// Both go through the same Apollo server, schema, guards and error formatting, so the
// ratio is what the session check costs a GraphQL operation.

/** The authenticated query: the same fields as GET /api/me. */
export const GRAPHQL_ME_QUERY = '{ me { id email roles sessionId } }';
/** The baseline: a @Public() query answering constants of the same shape and lengths. */
export const GRAPHQL_BASELINE_QUERY = '{ benchMe { id email roles sessionId } }';

/**
 * Posts `query` once and checks the answer is data, not errors: a refused `me` would still
 * be a 200 (GraphQL errors travel in the body), which the load runs would count as success.
 */
async function graphqlData(h, app, query, headers = {}) {
  const response = await h.expectStatus(200, app.url, 'POST', '/graphql', { headers, body: { query } });
  const body = response.body;
  if (!body || typeof body !== 'object' || body.errors || !body.data) {
    throw new Error(`POST /graphql ${query} answered ${JSON.stringify(body).slice(0, 300)}`);
  }
  return Object.values(body.data)[0];
}

/**
 * Runs the scenario. `h` holds run.mjs's helpers: { start, stop, loadInterleaved, say,
 * describeRun, describeRatios, settings, register, login, expectStatus, benchEmail, password }.
 * Resolves to { mode, app, baseline, rows: [{ name: 'bearer', runs }], shapes }.
 */
export async function graphqlMeScenario(h) {
  const label = 'graphql-me';
  const app = await h.start(`app-${label}`, 'cached');
  try {
    const email = h.benchEmail();
    await h.register(app.url, email, h.password);
    const session = await h.login(app.url, email, h.password);
    const auth = { authorization: `Bearer ${session.accessToken}` };
    const me = await graphqlData(h, app, GRAPHQL_ME_QUERY, auth);
    const base = await graphqlData(h, app, GRAPHQL_BASELINE_QUERY);
    const keys = (value) => Object.keys(value).join(',');
    const size = (value) => JSON.stringify(value).length;
    if (keys(me) !== keys(base) || size(me) !== size(base)) {
      h.say(`warning: benchMe ${keys(base)} (${size(base)} B) differs from me ${keys(me)} (${size(me)} B)`);
    }
    const routes = [
      { name: 'baseline', path: '/graphql', method: 'POST', body: { query: GRAPHQL_BASELINE_QUERY } },
      { name: 'bearer', path: '/graphql', method: 'POST', headers: auth, body: { query: GRAPHQL_ME_QUERY } },
    ];
    const baseline = [];
    const runs = [];
    for (let round = 1; round <= h.settings.rounds; round++) {
      const run = await h.loadInterleaved(app, { routes });
      baseline.push(run.routes.baseline);
      runs.push(run.routes.bearer);
      h.say(h.describeRun(`${label} baseline #${round}`, run.routes.baseline));
      h.say(h.describeRun(`${label} bearer #${round}`, run.routes.bearer));
      h.say(h.describeRatios(`${label} ratio #${round}`, run, ['bearer']));
    }
    // Still data after the load (a token that had expired meanwhile would not be).
    await graphqlData(h, app, GRAPHQL_ME_QUERY, auth);
    return { mode: 'cached', app, baseline, rows: [{ name: 'bearer', runs }], shapes: { baselineBytes: size(base), meBytes: size(me) } };
  } finally {
    await h.stop(app);
  }
}
