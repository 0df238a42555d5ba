import { Controller, Get, Res } from '@nestjs/common';
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

/** Liveness, and reachability of the database and of the session store. */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly store: SessionStoreProbe,
  ) {}

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
