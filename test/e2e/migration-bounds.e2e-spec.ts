import { Connection, createConnection } from 'mysql2/promise';
import { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { loadConfig } from '../../src/config/app-config';
import { createDataSourceOptions } from '../../src/core/database/data-source-options';
import { runMigrationsLocked } from '../../src/core/database/migration-lock';
import { createIsolatedEnv, IsolatedEnv, target } from '../support/isolated-env';
import { waitFor } from '../support/wait-for';

/** Takes longer than the service lets a statement run (DB_STATEMENT_TIMEOUT=1 below), as DDL on a large table does. */
class SlowDdlMigration1700000000001 implements MigrationInterface {
  name = 'SlowDdlMigration1700000000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('SELECT SLEEP(2)');
    await queryRunner.query('CREATE TABLE slow_probe (id INTEGER NOT NULL)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE slow_probe');
  }
}

/** Updates a row that another session holds locked (DB_LOCK_TIMEOUT=1 below), as a data migration on a busy table may. */
class LockedRowMigration1700000000002 implements MigrationInterface {
  name = 'LockedRowMigration1700000000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('UPDATE row_probe SET n = n + 1 WHERE id = 1');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('UPDATE row_probe SET n = n - 1 WHERE id = 1');
  }
}

const BOUNDS = { DB_POOL_SIZE: '1', DB_LOCK_TIMEOUT: '1', DB_STATEMENT_TIMEOUT: '1' };

const describeMysql = target.mysql ? describe : describe.skip;

/* The service's session bounds apply to requests, not to its own migrations (SQLite has no such bounds). */
describeMysql('migrations under the service’s session bounds (MySQL/MariaDB)', () => {
  let env: IsolatedEnv;
  const sources: DataSource[] = [];

  beforeAll(async () => {
    env = await createIsolatedEnv();
  });

  afterAll(async () => {
    await Promise.all(sources.filter((source) => source.isInitialized).map((source) => source.destroy()));
    await env?.destroy();
  });

  async function dataSource(migration: new () => MigrationInterface): Promise<DataSource> {
    const source = new DataSource({ ...createDataSourceOptions(loadConfig({ ...env.env, ...BOUNDS }), []), migrations: [migration] });
    sources.push(source);
    return source.initialize();
  }

  /** The pool's connection afterwards: it has the service's bounds, whichever connection it is. */
  async function sessionBounds(source: DataSource) {
    const [row] = await source.query(
      'SELECT @@SESSION.max_statement_time AS statement, @@SESSION.lock_wait_timeout AS mdl, @@SESSION.innodb_lock_wait_timeout AS rowLock',
    );
    return { statement: Number(row.statement), mdl: Number(row.mdl), rowLock: Number(row.rowLock) };
  }

  it('run on the lock’s own connection (a pool of one) without the statement bound, which the connection gets back', async () => {
    const source = await dataSource(SlowDdlMigration1700000000001);

    const applied = await runMigrationsLocked(source);

    expect(applied.map((migration) => migration.name)).toEqual(['SlowDdlMigration1700000000001']);
    expect(await sessionBounds(source)).toEqual({ statement: 1, mdl: 1, rowLock: 1 });
  });

  it('wait for a row lock longer than DB_LOCK_TIMEOUT (innodb_lock_wait_timeout lifted), which the connection gets back', async () => {
    const locker: Connection = await createConnection(env.databaseUrl);
    try {
      await locker.query('CREATE TABLE row_probe (id INTEGER PRIMARY KEY, n INTEGER NOT NULL) ENGINE=InnoDB');
      await locker.query('INSERT INTO row_probe VALUES (1, 0)');
      await locker.query('START TRANSACTION');
      await locker.query('SELECT n FROM row_probe WHERE id = 1 FOR UPDATE');
      const source = await dataSource(LockedRowMigration1700000000002);
      const migrating = runMigrationsLocked(source);
      let failure: Error | null = null;
      migrating.catch((error: Error) => (failure = error));

      // the UPDATE still waits well past the 1 s lock bound (under it, it would fail with a lock-wait timeout)
      await waitFor(async () => {
        if (failure) throw failure;
        const [rows] = await locker.query(
          "SELECT MAX(TIME) AS waited FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE 'UPDATE row_probe%'",
        );
        return Number((rows as Array<{ waited: number | null }>)[0]!.waited) >= 3;
      }, 20_000);
      await locker.query('ROLLBACK');

      expect((await migrating).map((migration) => migration.name)).toEqual(['LockedRowMigration1700000000002']);
      const [rows] = await locker.query('SELECT n FROM row_probe WHERE id = 1');
      expect(rows).toEqual([{ n: 1 }]);
      expect(await sessionBounds(source)).toEqual({ statement: 1, mdl: 1, rowLock: 1 });
    } finally {
      await locker.end();
    }
  });
});
