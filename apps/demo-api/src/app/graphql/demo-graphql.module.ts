import { ApolloDriver } from '@nestjs/apollo';
import type { ApolloDriverConfig } from '@nestjs/apollo';
import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { sessionGraphqlFormatError } from '@tessera/session';
import type { AppConfig } from '../config/app-config';
import { BenchResolver } from './bench.resolver';
import { demoGraphqlContext } from './graphql.context';
import { SessionResolver } from './session.resolver';

/** Where the GraphQL endpoint is served. */
export const GRAPHQL_PATH = '/graphql';

/**
 * `/graphql`: Apollo Server (Nest's Apollo driver, on Express through
 * `@as-integrations/express5` and on Fastify through `@as-integrations/fastify`), code
 * first, the schema built in memory at boot (no file written). The app's global guards
 * cover the resolvers; `sessionGraphqlFormatError` gives errors the REST codes.
 *
 * - Execution errors (a guard's refusal included) answer `200` with `errors[]`
 *   (GraphQL over HTTP, `application/json`); the REST status is in `extensions.status`.
 * - Apollo's `csrfPrevention` stays on: a request that is not preflighted by the browser
 *   (a simple GET, or a POST as a form or `text/plain`) must carry `Apollo-Require-Preflight`
 *   or `X-Apollo-Operation-Name`, so no cross-site request without CORS approval reaches a
 *   resolver. On top of it `CsrfGuard` checks cookie-mode mutations like any unsafe REST
 *   request (Origin, `Sec-Fetch-Site`, `X-CSRF-Token`); queries pass, they cannot mutate
 *   (OWASP CSRF cheat sheet: no state change on safe requests), and Apollo never runs a
 *   mutation sent as GET (405).
 * - Introspection and the GraphiQL landing page only outside production.
 */
@Module({})
export class DemoGraphqlModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: DemoGraphqlModule,
      imports: [
        GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          path: GRAPHQL_PATH,
          autoSchemaFile: true,
          sortSchema: true,
          context: demoGraphqlContext,
          formatError: sessionGraphqlFormatError,
          // sessionGraphqlFormatError drops stack traces; this also covers a failure inside it.
          includeStacktraceInErrorResponses: false,
          csrfPrevention: true,
          introspection: !config.production,
          graphiql: !config.production,
        }),
      ],
      providers: [SessionResolver, ...(config.benchRoutes ? [BenchResolver] : [])],
    };
  }
}
