import { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { loadConfig } from '../../src/config/app-config';
import { createDataSourceOptions } from '../../src/core/database/data-source-options';
import { runMigrationsLocked } from '../../src/core/database/migration-lock';
import { createIsolatedEnv, IsolatedEnv } from '../support/isolated-env';

/** Runs `up` slowly and counts its runs in a table: a second, concurrent run would show. */
class SlowProbeMigration1700000000000 implements MigrationInterface {
  name = 'SlowProbeMigration1700000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE TABLE migration_probe (run_id INTEGER NOT NULL)');
    // widen the window in which a second, unserialised runner would also start
    await new Promise((resolve) => setTimeout(resolve, 300));
    await queryRunner.query('INSERT INTO migration_probe (run_id) VALUES (1)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE migration_probe');
  }
}

describe('migrations', () => {
  let env: IsolatedEnv;
  const sources: DataSource[] = [];

  beforeAll(async () => {
    env = await createIsolatedEnv();
  });

  afterAll(async () => {
    await Promise.all(sources.filter((s) => s.isInitialized).map((s) => s.destroy()));
    await env.destroy();
  });

  async function dataSource(): Promise<DataSource> {
    const options = createDataSourceOptions(loadConfig(env.env), []);
    const source = new DataSource({ ...options, migrations: [SlowProbeMigration1700000000000] });
    sources.push(source);
    return source.initialize();
  }

  it('are serialised: three instances starting together apply a migration exactly once', async () => {
    const instances = await Promise.all([dataSource(), dataSource(), dataSource()]);
    const applied = await Promise.all(instances.map((source) => runMigrationsLocked(source)));

    expect(applied.map((list) => list.length).sort()).toEqual([0, 0, 1]);
    const rows = await instances[0].query('SELECT COUNT(*) AS n FROM migration_probe');
    expect(Number(rows[0].n)).toBe(1);
    const recorded = await instances[0].query('SELECT name FROM migrations');
    expect(recorded).toEqual([{ name: 'SlowProbeMigration1700000000000' }]);
  });

  it('the app schema migrates on an empty database with nothing pending afterwards', async () => {
    const source = new DataSource(createDataSourceOptions(loadConfig(env.env), []));
    sources.push(source);
    await source.initialize();
    await runMigrationsLocked(source);
    expect(await source.showMigrations()).toBe(false);
  });
});
