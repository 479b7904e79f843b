import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { createDataSourceOptions } from './data-source-options';
import { runMigrationsLocked } from './migration-lock';
import { verifySessionSettings } from './mysql-session';

/**
 * One TypeORM DataSource for the configured database. Feature modules register their
 * entities with `TypeOrmModule.forFeature` (picked up by `autoLoadEntities`).
 */
@Module({})
export class DatabaseModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    const log = logger.child({ context: 'Database' });
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            ...createDataSourceOptions(config, [], log),
            autoLoadEntities: true,
            retryAttempts: 10,
            retryDelay: 3000,
          }),
          dataSourceFactory: async (options) => {
            const dataSource = await new DataSource(options!).initialize();
            try {
              if (dataSource.options.type === 'mysql') await verifySessionSettings((sql) => dataSource.query(sql), config.dbTimeouts);
              if (config.migrationsRun) {
                const applied = await runMigrationsLocked(dataSource);
                if (applied.length > 0) log.info({ migrations: applied.map((m) => m.name) }, 'migrations applied');
              }
              return dataSource;
            } catch (error) {
              // TypeOrmModule retries with a new DataSource: a failed attempt must not keep its pool (or SQLite file) open
              await dataSource.destroy().catch(() => undefined);
              throw error;
            }
          },
        }),
      ],
    };
  }
}
