import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { createDataSourceOptions } from './data-source-options';
import { runMigrationsLocked } from './migration-lock';

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
            await prepareSessions(dataSource);
            if (config.migrationsRun) {
              const applied = await runMigrationsLocked(dataSource);
              if (applied.length > 0) log.info({ migrations: applied.map((m) => m.name) }, 'migrations applied');
            }
            return dataSource;
          },
        }),
      ],
    };
  }
}

/** MySQL sessions run in UTC whatever the server's default, so CURRENT_TIMESTAMP defaults are UTC too. */
async function prepareSessions(dataSource: DataSource): Promise<void> {
  if (dataSource.options.type !== 'mysql') return;
  const pool = (dataSource.driver as unknown as { pool: MysqlPool }).pool;
  pool.on('connection', (connection) => connection.query("SET time_zone = '+00:00'"));
  // the pool's first connection was opened before the listener existed
  await dataSource.query("SET time_zone = '+00:00'");
}

interface MysqlPool {
  on(event: 'connection', listener: (connection: { query(sql: string): unknown }) => void): void;
}
