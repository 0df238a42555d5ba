import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { getRepositoryToken, TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource, DataSourceOptions, Repository } from 'typeorm';
import { SessionEntity } from './entities/session.entity';
import { PostgresSessionStore } from './stores/postgres-session.store';
import type { PostgresSessionStoreOptions } from './stores/postgres-session.store';

/** Options of `SessionTypeOrmModule.forFeature`: those of the store, which runs on the data source's own pool. */
export interface SessionTypeOrmModuleOptions extends Omit<PostgresSessionStoreOptions, 'pool'> {
  /** The app's data source (name, options or instance) when it is not the default one. Default: the default data source. */
  dataSource?: DataSource | DataSourceOptions | string;
}

/**
 * Provides `PostgresSessionStore` on a connection the app owns: it registers the
 * session entity with `TypeOrmModule.forFeature` and never opens a connection itself.
 * Hand the store to `SessionModule.forRootAsync({ imports: [SessionTypeOrmModule.forFeature()],
 * inject: [PostgresSessionStore], useFactory: (store) => ({ store, ... }) })`.
 */
@Module({})
export class SessionTypeOrmModule {
  /** Registers the session entity and the store on the app's data source. */
  static forFeature(options: SessionTypeOrmModuleOptions = {}): DynamicModule {
    return {
      module: SessionTypeOrmModule,
      imports: [TypeOrmModule.forFeature([SessionEntity], options.dataSource)],
      providers: [
        {
          provide: PostgresSessionStore,
          inject: [getRepositoryToken(SessionEntity, options.dataSource)],
          useFactory: (repository: Repository<SessionEntity>) =>
            new PostgresSessionStore(repository, {
              feed: options.feed,
              preparedStatements: options.preparedStatements,
              batchRotations: options.batchRotations,
              batchLookups: options.batchLookups,
              commandTimeout: options.commandTimeout,
            }),
        },
      ],
      exports: [PostgresSessionStore],
    };
  }
}
