import { Query, Resolver } from '@nestjs/graphql';
import { Public } from '@tessera/session';
import { MeModel } from './graphql.models';

// The constants of BenchController's GET /bench/me: the lengths `npm run bench` sees from `me`.
const BENCH_ME = Object.freeze({
  id: '00000000-0000-4000-8000-000000000000',
  email: 'bench-00000000@example.com',
  roles: Object.freeze(['user']),
  sessionId: 'AAAAAAAAAAAAAAAAAAAAAA',
});

/**
 * The GraphQL benchmark's baseline: a `@Public()` query answering the same shape and
 * sizes as `me` through the same server, schema, guards and format, so that the
 * difference is the session check. Mounted only with `BENCH_ROUTES=true`.
 */
@Public()
@Resolver()
export class BenchResolver {
  @Query(() => MeModel, { description: 'Benchmark baseline (BENCH_ROUTES=true only): constants shaped like me' })
  benchMe(): MeModel {
    return { id: BENCH_ME.id, email: BENCH_ME.email, roles: [...BENCH_ME.roles], sessionId: BENCH_ME.sessionId };
  }
}
