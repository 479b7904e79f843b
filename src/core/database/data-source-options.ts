import mysql2 from 'mysql2';
import type { Logger } from 'pino';
import type { DataSourceOptions } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { migrations } from '../../migrations/migrations';
import { mysqlWithSessionSetup, sessionSettingsSql, UTC_SESSION_SQL } from './mysql-session';
import { TypeOrmPinoLogger } from './typeorm-logger';

export type EntityList = NonNullable<DataSourceOptions['entities']>;

/**
 * The DataSource options for the configured database. The app and the TypeORM CLI
 * (`ormconfig.ts`, `use = 'cli'`) both build from here, so they always agree. Migrations, never
 * `synchronize`, shape the schema.
 */
export function createDataSourceOptions(
  config: AppConfig,
  entities: EntityList,
  log?: Logger,
  use: 'app' | 'cli' = 'app',
): DataSourceOptions {
  const common = {
    entities,
    migrations,
    migrationsRun: false, // run under a cross-instance lock by runMigrationsLocked()
    migrationsTableName: 'migrations',
    synchronize: false,
    maxQueryExecutionTime: 1000,
    logger: log ? new TypeOrmPinoLogger(log) : undefined,
  } as const;

  if (config.database.kind === 'sqlite') {
    return {
      ...common,
      type: 'better-sqlite3',
      database: config.database.file,
      enableWAL: true,
      // a second writer (another process on the file) waits up to DB_LOCK_TIMEOUT for the lock, then SQLITE_BUSY
      timeout: config.dbTimeouts.lockSeconds * 1000,
      prepareDatabase: (db: { pragma(sql: string): unknown }) => {
        db.pragma('foreign_keys = ON');
        db.pragma('synchronous = NORMAL');
      },
    };
  }

  return {
    ...common,
    type: 'mysql',
    // mysql2 with the session settings (UTC, lock and statement timeouts) on every connection, the first included;
    // the CLI's migrations run without the service's bounds (DDL on a large table takes what it takes)
    driver: mysqlWithSessionSetup(mysql2, use === 'app' ? sessionSettingsSql(config.dbTimeouts) : UTC_SESSION_SQL, log),
    url: config.database.url,
    charset: 'utf8mb4_unicode_ci',
    timezone: 'Z',
    // BIGINT columns come back as numbers while they fit in 2^53 (balances never exceed that)
    supportBigNumbers: true,
    bigNumberStrings: false,
    connectTimeout: 5000,
    poolSize: config.database.poolSize,
    // resetOnRelease would drop each connection's session settings at its first release (mysql-session.ts refuses it).
    // trace: mysql2's promise API (which TypeORM 1.x calls for every query) captures a stack trace per
    // query to decorate errors with the caller's frames: about 5 µs a statement, five statements a
    // transfer. Driver errors are mapped to codes and logged without their text; their stacks add nothing.
    extra: { enableKeepAlive: true, keepAliveInitialDelay: 10_000, resetOnRelease: false, trace: false },
  };
}
