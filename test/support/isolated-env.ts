import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { createClient } from '@redis/client';

/** The servers this test run targets: real MariaDB/Redis when the variables are set. */
export const target = {
  databaseUrl: process.env.DATABASE_URL?.trim() || null,
  redisUrl: process.env.REDIS_URL?.trim() || null,
  get mysql(): boolean {
    return this.databaseUrl?.startsWith('mysql') ?? false;
  },
};

export interface IsolatedEnv {
  /** Environment variables pointing at this file's own database and key space. */
  env: Record<string, string>;
  databaseUrl: string;
  redisUrl: string | null;
  redisKeyPrefix: string;
  /** Drops the database (or file) and deletes the key space. */
  destroy(): Promise<void>;
}

/**
 * A fresh database (MySQL: a random database on the server; SQLite: a temp file) and a Redis
 * key prefix of its own, so test files can run in parallel without seeing each other's rows.
 */
export async function createIsolatedEnv(): Promise<IsolatedEnv> {
  const id = randomBytes(6).toString('hex');
  const redisKeyPrefix = `test:${id}:`;
  let databaseUrl: string;
  let dropDatabase: () => Promise<void>;

  if (target.mysql) {
    const server = new URL(target.databaseUrl!);
    const name = `t_${id}`;
    server.pathname = '/';
    const admin = await createConnection(server.toString());
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await admin.end();
    const url = new URL(target.databaseUrl!);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    dropDatabase = async () => {
      const connection = await createConnection(server.toString());
      await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await connection.end();
    };
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'app-test-'));
    databaseUrl = `sqlite:${join(dir, 'test.sqlite')}`;
    dropDatabase = () => Promise.resolve(rmSync(dir, { recursive: true, force: true }));
  }

  // mails written as files (no SMTP_URL) land in a directory of this file's own
  const mailDir = mkdtempSync(join(tmpdir(), 'app-mail-'));
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    MAIL_DIR: mailDir,
    REDIS_KEY_PREFIX: redisKeyPrefix,
    LOG_LEVEL: 'warn',
    // instances of one deployment share their secrets (and passport's strategy registry is per process)
    JWT_ACCESS_SECRET: randomBytes(32).toString('base64url'),
    JWT_REFRESH_SECRET: randomBytes(32).toString('base64url'),
    APP_SECRET: randomBytes(32).toString('base64url'),
  };
  if (target.redisUrl) env.REDIS_URL = target.redisUrl;

  return {
    env,
    databaseUrl,
    redisUrl: target.redisUrl,
    redisKeyPrefix,
    async destroy() {
      await dropDatabase();
      rmSync(mailDir, { recursive: true, force: true });
      if (target.redisUrl) await deleteKeys(target.redisUrl, redisKeyPrefix);
    },
  };
}

async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = createClient({ url });
  await client.connect();
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await client.del(keys);
    }
  } finally {
    await client.close();
  }
}
