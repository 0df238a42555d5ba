import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import type { HealthCheckResult } from '@nestjs/terminus';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { Public } from '@tessera/session';
import type { DemoResponse } from '../common/http';
import type { DataSource } from 'typeorm';
import type { SessionStoreKind } from '../config/session-store';
import { SessionStoreProbe } from '../session-backend.module';

const PROBE_TIMEOUT_MS = 2_000;

type Status = 'up' | 'down';

/** What `GET /health` answers. */
interface HealthBody {
  status: 'ok' | 'error';
  /** PostgreSQL, which holds the users (and the sessions when `storeType` is `postgres`). */
  database: Status;
  /** The session store. */
  store: Status;
  /** Which backend the session store is (SESSION_STORE). */
  storeType: SessionStoreKind;
  /** On 503: `database_unavailable`, else `store_unavailable`. */
  code?: 'database_unavailable' | 'store_unavailable';
}

/** Resolves to `up` when `probe` settles within the timeout, `down` otherwise. */
async function statusOf(probe: () => Promise<unknown>): Promise<Status> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), PROBE_TIMEOUT_MS);
      }),
    ]);
    return 'up';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Liveness, and reachability of the database and of the session store: `GET /health` (the
 * demo's own contract), and terminus's `GET /health/live` and `GET /health/ready`.
 */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly store: SessionStoreProbe,
    private readonly checks: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
  ) {}

  @Get('live')
  @ApiOperation({
    summary: 'Liveness (terminus)',
    description: 'The process answers; no dependency is checked, so an outage of the database or the store never restarts it.',
  })
  @ApiResponse({ status: 200, description: '`{ status: "ok", info: {}, error: {}, details: {} }`' })
  live(): Promise<HealthCheckResult> {
    return this.checks.check([]);
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Readiness (terminus): database, session store, revocation feed',
    description:
      '`database`: PostgreSQL answers `SELECT 1`. `sessions`: the session store answers a round trip, its revocation feed ' +
      'is connected (`feed`: `connected`, `disconnected`, or `not_open` when nothing needs it), and `feedStalenessMs` is ' +
      'the time since the feed last showed a sign of life. Each check has a 2 s timeout.',
  })
  @ApiResponse({
    status: 200,
    description: '`{ status: "ok", info: { database: { status: "up" }, sessions: { status: "up", store, feed, feedStalenessMs } }, error: {}, details }`',
  })
  @ApiResponse({ status: 503, description: '`{ status: "error", info, error, details, code: "not_ready" }`: `error` names what is down' })
  async ready(@Res({ passthrough: true }) response: DemoResponse): Promise<HealthCheckResult & { code?: 'not_ready' }> {
    try {
      return await this.checks.check([
        () =>
          this.indicators
            .check('database')
            .attempt(() => this.dataSource.query('SELECT 1').then(() => undefined))
            .withTimeout(PROBE_TIMEOUT_MS),
        () => this.store.health('sessions', PROBE_TIMEOUT_MS),
      ]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      response.status(503);
      return { ...(error.getResponse() as HealthCheckResult), code: 'not_ready' };
    }
  }

  @Get()
  @ApiOperation({ summary: 'Health, database and session store status' })
  @ApiResponse({ status: 200, description: '`{ status: "ok", database: "up", store: "up", storeType: "postgres" | "redis" }`' })
  @ApiResponse({
    status: 503,
    description:
      '`{ status: "error", database, store, storeType, code }`: `code` is `database_unavailable` when PostgreSQL does not ' +
      'answer, otherwise `store_unavailable` (Redis does not answer)',
  })
  async health(@Res({ passthrough: true }) response: DemoResponse): Promise<HealthBody> {
    const [database, store] = await Promise.all([
      statusOf(() => this.dataSource.query('SELECT 1')),
      statusOf(() => this.store.check(PROBE_TIMEOUT_MS)),
    ]);
    const body: HealthBody = { status: 'ok', database, store, storeType: this.store.kind };
    if (database === 'up' && store === 'up') return body;
    response.status(503);
    return { ...body, status: 'error', code: database === 'down' ? 'database_unavailable' : 'store_unavailable' };
  }
}
