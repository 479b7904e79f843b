import { createHash } from 'node:crypto';
import { open, readFile, rm } from 'node:fs/promises';
import type { DataSource, Migration } from 'typeorm';

const LOCK_TIMEOUT_SECONDS = 120;
const SQLITE_POLL_MS = 100;

/**
 * Applies pending migrations while holding a lock that every instance of this deployment takes
 * first, so two processes starting together never run the same migration twice. MySQL uses a
 * named lock (GET_LOCK) scoped to the database; SQLite, which has no such thing, a lock file
 * beside the database file.
 */
export async function runMigrationsLocked(dataSource: DataSource): Promise<Migration[]> {
  const release = dataSource.options.type === 'mysql' ? await lockMysql(dataSource) : await lockSqliteFile(dataSource);
  try {
    return await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await release();
  }
}

async function lockMysql(dataSource: DataSource): Promise<() => Promise<void>> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  const database = String(dataSource.driver.database);
  // lock names are server-wide: include the database so deployments on one server do not queue
  const name = `migrations:${createHash('sha1').update(database).digest('hex')}`;
  try {
    const rows = (await runner.query('SELECT GET_LOCK(?, ?) AS locked', [name, LOCK_TIMEOUT_SECONDS])) as Array<{
      locked: number | null;
    }>;
    if (Number(rows[0]?.locked) !== 1) {
      throw new Error(`Timed out after ${LOCK_TIMEOUT_SECONDS}s waiting for the migration lock`);
    }
  } catch (error) {
    await runner.release();
    throw error;
  }
  return async () => {
    try {
      await runner.query('SELECT RELEASE_LOCK(?)', [name]);
    } finally {
      await runner.release();
    }
  };
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
