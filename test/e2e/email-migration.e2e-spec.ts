import { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config/app-config';
import { createDataSourceOptions } from '../../src/core/database/data-source-options';
import { runMigrationsLocked } from '../../src/core/database/migration-lock';
import { EmailBinaryCollation1765000000001 } from '../../src/modules/users/migrations/1765000000001-email-binary-collation';
import { migrations } from '../../src/migrations/migrations';
import { createIsolatedEnv, IsolatedEnv, target } from '../support/isolated-env';

const before = migrations.slice(0, migrations.indexOf(EmailBinaryCollation1765000000001));

describe('migration: emails compared byte for byte', () => {
  let env: IsolatedEnv;
  const sources: DataSource[] = [];

  beforeEach(async () => {
    env = await createIsolatedEnv();
  });

  afterEach(async () => {
    await Promise.all(
      sources
        .splice(0)
        .filter((s) => s.isInitialized)
        .map((s) => s.destroy()),
    );
    await env.destroy();
  });

  async function migrated(list = migrations): Promise<DataSource> {
    const source = new DataSource({ ...createDataSourceOptions(loadConfig(env.env), []), migrations: list });
    sources.push(source);
    await source.initialize();
    await runMigrationsLocked(source);
    return source;
  }

  let n = 0;
  const insertUser = (source: DataSource, email: string) =>
    source.query(
      "INSERT INTO users (id, email, name, password_hash, roles, token_version, created_at, updated_at) VALUES (?, ?, 'N', 'h', ',user,', 0, ?, ?)",
      [`00000000-0000-7000-8000-${String(++n).padStart(12, '0')}`, email, '2026-01-01 00:00:00.000', '2026-01-01 00:00:00.000'],
    );
  const emails = async (source: DataSource) =>
    (await source.query<Array<{ email: string }>>('SELECT email FROM users ORDER BY id')).map((row) => row.email);

  it('the email column compares exactly and stays unique', async () => {
    const source = await migrated();
    if (target.mysql) {
      const [column] = await source.query(
        "SELECT COLLATION_NAME AS collation FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users' AND COLUMN_NAME = 'email'",
      );
      expect(column.collation).toBe('utf8mb4_bin');
    } else {
      const [table] = await source.query("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'");
      expect(table.sql).not.toMatch(/nocase/i);
    }
    await insertUser(source, 'ada@example.com');
    await insertUser(source, 'ádà@example.com');
    await expect(insertUser(source, 'ada@example.com')).rejects.toThrow();
    expect(await source.query('SELECT id FROM users WHERE email = ?', ['ádà@example.com'])).toHaveLength(1);
    expect(await source.showMigrations()).toBe(false);
  });

  it('rewrites emails stored before NFC to NFC, leaving the others alone', async () => {
    const old = await migrated(before);
    await insertUser(old, 'e\u0301mile@example.com');
    await insertUser(old, 'zoe@example.com');
    await old.destroy();
    const source = await migrated();
    expect(await emails(source)).toEqual(['\u00e9mile@example.com', 'zoe@example.com']);
  });

  it('stops, naming the ids, when two accounts would become one address', async () => {
    const old = await migrated(before);
    await insertUser(old, '\u00e9mile@example.com');
    if (target.mysql) {
      // utf8mb4_unicode_ci already held these to be one address: the pair cannot exist there
      await expect(insertUser(old, 'e\u0301mile@example.com')).rejects.toThrow();
      return;
    }
    await insertUser(old, 'e\u0301mile@example.com');
    await old.destroy();
    await expect(migrated()).rejects.toThrow(
      /users 00000000-0000-7000-8000-\d{12} and 00000000-0000-7000-8000-\d{12} have the same canonical email/,
    );
  });
});
