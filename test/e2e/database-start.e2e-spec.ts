import { readdirSync, readlinkSync } from 'node:fs';
import { Connection, createConnection } from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { migrationLockName } from '../../src/core/database/migration-lock';
import { signUp } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv, target } from '../support/isolated-env';
import { CapturedLogs, captureLogs } from '../support/log-capture';
import { startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/*
 * Starting against a database that is not ready yet: the migration lock held by another
 * instance, or a start attempt that fails and is retried (TypeOrmModule retries the whole
 * DataSource, every 3 s). Neither may cut a wait short nor leave connections behind.
 */
const RETRIED = 'Unable to connect to the database';

/** Runs SQL on the test's own connection to the database (MySQL) or file (SQLite), closed afterwards. */
async function onDatabase(env: IsolatedEnv, sql: string): Promise<void> {
  if (target.mysql) {
    const connection = await createConnection(env.databaseUrl);
    await connection.query(sql);
    await connection.end();
    return;
  }
  const db = await new DataSource({ type: 'better-sqlite3', database: sqliteFile(env) }).initialize();
  await db.query(sql);
  await db.destroy();
}

function sqliteFile(env: IsolatedEnv): string {
  return env.databaseUrl.slice('sqlite:'.length);
}

function databaseName(env: IsolatedEnv): string {
  return new URL(env.databaseUrl).pathname.slice(1);
}

/** A connection to the server that is in no database, so it never counts itself. */
async function serverConnection(env: IsolatedEnv): Promise<Connection> {
  const url = new URL(env.databaseUrl);
  url.pathname = '/';
  return createConnection(url.toString());
}

describe('starting the service', () => {
  let env: IsolatedEnv;
  let observer: Connection | null = null;
  const apps: TestApp[] = [];

  beforeEach(async () => {
    env = await createIsolatedEnv();
    observer = target.mysql ? await serverConnection(env) : null;
  });

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((t) => t.close()));
    await observer?.end();
    await env.destroy();
  });

  /** Connections to this test's database (MySQL), or open files of this test's SQLite database, in this process. */
  async function openConnections(): Promise<number> {
    if (observer) {
      const [rows] = await observer.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ?', [databaseName(env)]);
      return Number((rows as Array<{ n: number }>)[0]!.n);
    }
    const file = sqliteFile(env);
    return readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith(file);
      } catch {
        return false; // closed meanwhile
      }
    }).length;
  }

  /**
   * None left: on MySQL, once the server has ended the sessions the client closed; on SQLite, now
   * (a better-sqlite3 handle nobody closed is closed by the garbage collector, some time later).
   */
  async function expectNoneOpen(): Promise<void> {
    if (observer) await waitFor(async () => (await openConnections()) === 0, 2_000);
    else expect(await openConnections()).toBe(0);
  }

  function start(logs: CapturedLogs, env_: Record<string, string> = {}) {
    const starting = startTestApp(env, { env: env_, logger: logs.logger }).then((t) => {
      apps.push(t);
      return t;
    });
    starting.catch(() => undefined); // awaited by the test; it must not be an unhandled rejection meanwhile
    return starting;
  }

  it('a start attempt that fails keeps no connection open; the retry that succeeds leaves none after close', async () => {
    // the first migration creates `users`: while a table of that name is in the way, every attempt fails
    await onDatabase(env, 'CREATE TABLE users (id INTEGER)');
    const logs = captureLogs('warn');
    const starting = start(logs);
    try {
      await waitFor(() => logs.text().includes(RETRIED), 20_000, 20);
      await expectNoneOpen(); // the next attempt starts 3 s after the failure was logged
    } finally {
      // even when an expectation failed: a start left retrying would log into the next test's app (Nest's logger is global)
      await onDatabase(env, 'DROP TABLE users');
      await starting.catch(() => undefined); // up (and closed by afterEach) before the database goes
    }
    const t = await starting;
    expect((await signUp(t)).accessToken).toEqual(expect.any(String)); // migrated and serving
    await t.close();
    apps.splice(apps.indexOf(t), 1);
    await expectNoneOpen();
  });

  const itMysql = target.mysql ? it : it.skip;

  itMysql(
    'a start waiting on the migration lock longer than DB_STATEMENT_TIMEOUT keeps waiting, and starts once it is released',
    async () => {
      const lock = migrationLockName(databaseName(env));
      const holder = await serverConnection(env); // another instance, migrating
      const [[got]] = (await holder.query('SELECT GET_LOCK(?, 0) AS locked', [lock])) as unknown as [[{ locked: number }]];
      expect(got.locked).toBe(1);
      const logs = captureLogs('warn');
      const starting = start(logs, { DB_STATEMENT_TIMEOUT: '1', DB_LOCK_TIMEOUT: '1' });
      try {
        // its GET_LOCK waits well past the 1 s statement bound (cut short, it would give up after 1 s and retry 3 s later)
        await waitFor(async () => {
          const [rows] = await observer!.query(
            "SELECT MAX(TIME) AS waited FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE 'SELECT GET_LOCK%'",
            [databaseName(env)],
          );
          return Number((rows as Array<{ waited: number | null }>)[0]!.waited) >= 3;
        }, 20_000);
      } finally {
        await holder.end(); // the lock ends with its session
        await starting.catch(() => undefined);
      }

      const t = await starting;
      expect(logs.text()).not.toContain(RETRIED);
      expect((await signUp(t)).accessToken).toEqual(expect.any(String));
    },
  );
});
