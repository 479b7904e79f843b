import { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { loadConfig } from '../../src/config/app-config';
import { createDataSourceOptions } from '../../src/core/database/data-source-options';
import { runMigrationsLocked } from '../../src/core/database/migration-lock';
import { createIsolatedEnv, IsolatedEnv, target } from '../support/isolated-env';

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

const describeMysql = target.mysql ? describe : describe.skip;

/* The service's session bounds apply to requests, not to its own migrations (SQLite has no such bounds). */
describeMysql('migrations under the service’s session bounds (MySQL/MariaDB)', () => {
  let env: IsolatedEnv;
  let source: DataSource;

  beforeAll(async () => {
    env = await createIsolatedEnv();
  });

  afterAll(async () => {
    if (source?.isInitialized) await source.destroy();
    await env?.destroy();
  });

  it('run on the lock’s own connection (a pool of one) without the statement bound, which the connection gets back', async () => {
    const config = loadConfig({ ...env.env, DB_POOL_SIZE: '1', DB_LOCK_TIMEOUT: '1', DB_STATEMENT_TIMEOUT: '1' });
    source = await new DataSource({ ...createDataSourceOptions(config, []), migrations: [SlowDdlMigration1700000000001] }).initialize();

    const applied = await runMigrationsLocked(source);

    expect(applied.map((migration) => migration.name)).toEqual(['SlowDdlMigration1700000000001']);
    const [row] = await source.query('SELECT @@SESSION.max_statement_time AS statement, @@SESSION.lock_wait_timeout AS mdl');
    expect({ statement: Number(row.statement), mdl: Number(row.mdl) }).toEqual({ statement: 1, mdl: 1 });
  });
});
