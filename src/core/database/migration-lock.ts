import { createHash } from 'node:crypto';
import { open, readFile, rm } from 'node:fs/promises';
import { DataSource, Migration, MigrationExecutor, QueryRunner } from 'typeorm';

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

/** On the connection that holds the lock: with DB_POOL_SIZE=1 there is no other. */
async function migrateMysql(dataSource: DataSource): Promise<Migration[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    const database = String(dataSource.driver.database);
    // lock names are server-wide: include the database so deployments on one server do not queue
    const name = `migrations:${createHash('sha1').update(database).digest('hex')}`;
    const rows = (await runner.query('SELECT GET_LOCK(?, ?) AS locked', [name, LOCK_TIMEOUT_SECONDS])) as Array<{
      locked: number | null;
    }>;
    if (Number(rows[0]?.locked) !== 1) {
      throw new Error(`Timed out after ${LOCK_TIMEOUT_SECONDS}s waiting for the migration lock`);
    }
    try {
      return await withMigrationBounds(runner, async () => {
        const executor = new MigrationExecutor(dataSource, runner);
        executor.transaction = 'each';
        return executor.executePendingMigrations();
      });
    } finally {
      await runner.query('SELECT RELEASE_LOCK(?)', [name]);
    }
  } finally {
    await runner.release();
  }
}

/**
 * DDL on a large table may run, and wait for other sessions' metadata locks, longer than the
 * service's own bounds (DB_STATEMENT_TIMEOUT, DB_LOCK_TIMEOUT): lifted for the migrations, put
 * back before the connection returns to the pool.
 */
async function withMigrationBounds<T>(runner: QueryRunner, work: () => Promise<T>): Promise<T> {
  const [saved] = (await runner.query(
    'SELECT @@SESSION.lock_wait_timeout AS lockWait /*M!100100 , @@SESSION.max_statement_time AS statementTime */',
  )) as Array<{ lockWait: unknown; statementTime?: unknown }>;
  await runner.query(`SET SESSION lock_wait_timeout = ${LOCK_TIMEOUT_SECONDS} /*M!100100 , max_statement_time = 0 */`);
  try {
    return await work();
  } finally {
    await runner.query(
      `SET SESSION lock_wait_timeout = ${Number(saved?.lockWait)} /*M!100100 , max_statement_time = ${Number(saved?.statementTime ?? 0)} */`,
    );
  }
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
