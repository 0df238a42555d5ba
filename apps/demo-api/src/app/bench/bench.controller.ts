import { Controller, Get } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '@tessera/session';

// Constants of the same lengths as what `npm run bench` sees from /api/me: a UUID user
// id, a 26-character email (bench-<8 hex>@example.com), one role, a 22-character session id.
const BENCH_ME = Object.freeze({
  id: '00000000-0000-4000-8000-000000000000',
  email: 'bench-00000000@example.com',
  roles: Object.freeze(['user']),
  sessionId: 'AAAAAAAAAAAAAAAAAAAAAA',
});

/**
 * The benchmark's baseline: a `@Public()` route answering the same JSON shape as
 * `GET /api/me` through the same app (middleware, guards, interceptors, filters),
 * so the difference is the session check. Mounted only with `BENCH_ROUTES=true`.
 */
@ApiExcludeController()
@Public()
@Controller('bench')
export class BenchController {
  /** Same shape and sizes as `GET /api/me`, without authentication or any lookup. */
  @Get('me')
  me() {
    return { id: BENCH_ME.id, email: BENCH_ME.email, roles: BENCH_ME.roles, sessionId: BENCH_ME.sessionId };
  }
}
