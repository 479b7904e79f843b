import { createHash } from 'node:crypto';
import { open, readFile, rm } from 'node:fs/promises';
import { DataSource, Migration, MigrationExecutor, QueryRunner } from 'typeorm';
import { READ_BOUNDS_SQL, SessionBounds, sessionBoundsSql } from './mysql-session';

const LOCK_TIMEOUT_SECONDS = 120;
const SQLITE_POLL_MS = 100;

/**
 * Applies pending migrations while holding a lock that every instance of this deployment takes
 * first, so two processes starting together never run the same migration twice. MySQL uses a
 * named lock (GET_LOCK) scoped to the database; SQLite, which has no such thing, a lock file
 * beside the database file.
 */
export async function runMigrationsLocked(dataSource: DataSource): Promise<Migration[]> {
  if (dataSource.options.type === 'mysql') return migrateMysql(dataSource);
  const release = await lockSqliteFile(dataSource);
  try {
    return await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await release();
  }
}

/** Lock names are server-wide: the database's name is in it, so deployments on one server do not queue. */
export function migrationLockName(database: string): string {
  return `migrations:${createHash('sha1').update(database).digest('hex')}`;
}

/**
 * On the connection that holds the lock: with DB_POOL_SIZE=1 there is no other. The service's
 * bounds are lifted before GET_LOCK, which is a statement like any other: under
 * `max_statement_time` (MariaDB) or `max_execution_time` (MySQL 8, SELECTs) it gives up (NULL)
 * when the statement bound ends, not after LOCK_TIMEOUT_SECONDS.
 */
async function migrateMysql(dataSource: DataSource): Promise<Migration[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    return await withMigrationBounds(runner, async () => {
      const name = migrationLockName(String(dataSource.driver.database));
      const rows = (await runner.query('SELECT GET_LOCK(?, ?) AS locked', [name, LOCK_TIMEOUT_SECONDS])) as Array<{
        locked: number | null;
      }>;
      if (Number(rows[0]?.locked) !== 1) {
        throw new Error(`Timed out after ${LOCK_TIMEOUT_SECONDS}s waiting for the migration lock`);
      }
      try {
        const executor = new MigrationExecutor(dataSource, runner);
        executor.transaction = 'each';
        return await executor.executePendingMigrations();
      } finally {
        await runner.query('SELECT RELEASE_LOCK(?)', [name]);
      }
    });
  } finally {
    await runner.release();
  }
}

/** What a migration may take: LOCK_TIMEOUT_SECONDS for a lock (metadata or row), no statement bound. */
export const MIGRATION_BOUNDS_SQL = sessionBoundsSql({
  metadataLock: LOCK_TIMEOUT_SECONDS,
  rowLock: LOCK_TIMEOUT_SECONDS,
  statement: 0,
  execution: 0,
});

/**
 * DDL on a large table, or an UPDATE of many rows, may run and wait for other sessions' locks
 * longer than the service's own bounds (DB_STATEMENT_TIMEOUT, DB_LOCK_TIMEOUT): lifted for the
 * lock and the migrations, put back before the connection returns to the pool. A connection
 * whose bounds cannot be put back is closed instead: none is handed out without them.
 */
export async function withMigrationBounds<T>(runner: QueryRunner, work: () => Promise<T>): Promise<T> {
  const [saved] = (await runner.query(READ_BOUNDS_SQL)) as SessionBounds[];
  if (!saved) throw new Error('Could not read the database session’s bounds');
  try {
    await runner.query(MIGRATION_BOUNDS_SQL);
    return await work();
  } finally {
    await runner.query(sessionBoundsSql(saved)).catch(() => closeConnection(runner));
  }
}

/** Drops the runner's connection from the pool (mysql2 then opens a fresh one, with the service's session, when needed). */
function closeConnection(runner: QueryRunner): void {
  (runner as QueryRunner & { databaseConnection?: { destroy(): void } }).databaseConnection?.destroy();
}

async function lockSqliteFile(dataSource: DataSource): Promise<() => Promise<void>> {
  const database = String(dataSource.options.database);
  if (database === ':memory:') return async () => {};
  const path = `${database}.migrations.lock`;
  const deadline = Date.now() + LOCK_TIMEOUT_SECONDS * 1000;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    await removeIfStale(path);
    if (Date.now() > deadline) throw new Error(`Timed out after ${LOCK_TIMEOUT_SECONDS}s waiting for ${path}`);
    await new Promise((resolve) => setTimeout(resolve, SQLITE_POLL_MS));
  }
}

/** A lock file whose process has died (a crash mid-migration) must not block the next start forever. */
async function removeIfStale(path: string): Promise<void> {
  const pid = Number(await readFile(path, 'utf8').catch(() => ''));
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') await rm(path, { force: true });
  }
}
