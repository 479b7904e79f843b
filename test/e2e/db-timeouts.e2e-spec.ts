import { Controller, Get, Module } from '@nestjs/common';
import mysql2 from 'mysql2';
import { Connection, createConnection } from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { Public } from '../../src/core/auth/auth.decorators';
import { mysqlWithSessionSetup } from '../../src/core/database/mysql-session';
import { isDatabaseUnavailableError } from '../../src/core/errors/driver-errors';
import { ADMIN_ENV, adminSession, Session, signUp } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv, target } from '../support/isolated-env';
import { balanceOf, deposit, openAccount, transfer } from '../support/money';
import { json, startTestApp, TestApp } from '../support/test-app';

/*
 * The service bounds its own waits (DB_LOCK_TIMEOUT, DB_STATEMENT_TIMEOUT) rather than inheriting
 * the server's (a year for a metadata lock, 50 s for a row lock): a request stuck behind a lock
 * answers 503 in about the configured bound × the unit of work's attempts. Deadlines here are
 * generous on purpose; without the bounds these requests would wait minutes or forever.
 */
const BOUNDS = { DB_LOCK_TIMEOUT: '1', DB_STATEMENT_TIMEOUT: '2' };
const GENEROUS_MS = 25_000;

@Controller('__timeouts')
class SlowQueryController {
  constructor(private readonly dataSource: DataSource) {}

  @Public()
  @Get('sleep')
  async sleep(): Promise<{ slept: true }> {
    await this.dataSource.query('SELECT SLEEP(6)');
    return { slept: true };
  }
}

@Module({ controllers: [SlowQueryController] })
class SlowQueryModule {}

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = Date.now();
  const result = await work();
  return { result, ms: Date.now() - started };
}

describe('database timeouts', () => {
  let env: IsolatedEnv;
  let t: TestApp;
  let admin: Session;
  let owner: Session;
  let from: string;
  let to: string;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    // one connection: whatever the tests read back is the first connection the pool opened
    t = await startTestApp(env, { env: { ...ADMIN_ENV, ...BOUNDS, DB_POOL_SIZE: '1' }, extraModules: [SlowQueryModule] });
    admin = await adminSession(t);
    owner = await signUp(t);
    from = await openAccount(t, owner);
    to = await openAccount(t, owner);
    await deposit(t, admin, from, 1_000);
  });

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  const move = () => transfer(t, owner, { fromAccountId: from, toAccountId: to, amount: 1 });

  const describeMysql = target.mysql ? describe : describe.skip;
  const describeSqlite = target.mysql ? describe.skip : describe;

  describeMysql('MySQL/MariaDB: set on every connection by the service', () => {
    let locker: Connection;

    beforeEach(async () => {
      locker = await createConnection(env.databaseUrl);
    });

    afterEach(async () => {
      await locker.end();
    });

    it('the pool’s first connection carries UTC, the lock bounds and the statement bound', async () => {
      const [row] = await t.app
        .get(DataSource)
        .query(
          'SELECT @@SESSION.time_zone AS tz, @@SESSION.lock_wait_timeout AS mdl, @@SESSION.innodb_lock_wait_timeout AS row_lock, @@SESSION.max_statement_time AS statement',
        );
      expect({ tz: row.tz, mdl: Number(row.mdl), rowLock: Number(row.row_lock), statement: Number(row.statement) }).toEqual({
        tz: '+00:00',
        mdl: 1,
        rowLock: 1,
        statement: 2,
      });
    });

    it('a transfer stuck behind LOCK TABLES (a metadata-lock wait) answers 503, not after the server’s own bound', async () => {
      await locker.query('LOCK TABLES accounts WRITE');
      try {
        const { result, ms } = await timed(move);
        expect({ status: result.statusCode, code: json(result).error?.code }).toEqual({ status: 503, code: 'SERVICE_UNAVAILABLE' });
        expect(ms).toBeLessThan(GENEROUS_MS);
      } finally {
        await locker.query('UNLOCK TABLES');
      }
      expect(await balanceOf(t, from)).toBe(1_000);
    });

    it('a transfer stuck behind a row lock answers 503 in about the configured bound, not 50 s per attempt', async () => {
      await locker.query('START TRANSACTION');
      await locker.query('SELECT id FROM accounts WHERE id = ? FOR UPDATE', [from]);
      try {
        const { result, ms } = await timed(move);
        expect({ status: result.statusCode, code: json(result).error?.code }).toEqual({ status: 503, code: 'SERVICE_UNAVAILABLE' });
        expect(ms).toBeLessThan(GENEROUS_MS);
      } finally {
        await locker.query('ROLLBACK');
      }
      expect((await move()).statusCode).toBe(201);
    });

    it('a statement past DB_STATEMENT_TIMEOUT is interrupted and answers 503 (never 500)', async () => {
      const { result, ms } = await timed(() => t.request({ method: 'GET', url: '/api/v1/__timeouts/sleep' }));
      expect({ status: result.statusCode, code: json(result).error?.code }).toEqual({ status: 503, code: 'SERVICE_UNAVAILABLE' });
      expect(ms).toBeLessThan(6_000); // the statement itself would take 6 s
    });

    it('a connection keeps its session once released and taken again (the pool does not reset it)', async () => {
      const source = t.app.get(DataSource);
      const session =
        'SELECT CONNECTION_ID() AS id, @@SESSION.time_zone AS tz, @@SESSION.innodb_lock_wait_timeout AS rowLock, @@SESSION.max_statement_time AS statement';
      const [first] = await source.query(session);
      await source.query('SELECT 1'); // released in between: a pool of one hands the same connection out again
      const [again] = await source.query(session);
      expect(again.id).toBe(first.id);
      expect({ tz: again.tz, rowLock: Number(again.rowLock), statement: Number(again.statement) }).toEqual({
        tz: '+00:00',
        rowLock: 1,
        statement: 2,
      });
    });

    it('a pool that would reset its connections on release (and so lose their session) is refused', () => {
      const driver = mysqlWithSessionSetup(mysql2, 'SELECT 1');
      expect(() => driver.createPool({ uri: env.databaseUrl, resetOnRelease: true })).toThrow(/resetOnRelease/);
    });

    it('a connection whose session set-up fails is never handed out: its requester gets a lost connection (503)', async () => {
      const pool = mysqlWithSessionSetup(mysql2, 'SET SESSION no_such_variable = 1').createPool(env.databaseUrl) as unknown as mysql2.Pool;
      try {
        const error = await new Promise<unknown>((resolve) => pool.getConnection((failure) => resolve(failure)));
        expect(error).toMatchObject({ code: 'PROTOCOL_CONNECTION_LOST' });
        expect(isDatabaseUnavailableError(error)).toBe(true);
      } finally {
        await new Promise((resolve) => pool.end(resolve));
      }
    });
  });

  describeSqlite('SQLite: DB_LOCK_TIMEOUT is the busy timeout', () => {
    it('the connection waits DB_LOCK_TIMEOUT for another process’s write lock', async () => {
      const [row] = await t.app.get(DataSource).query('PRAGMA busy_timeout');
      expect(Object.values(row)).toEqual([1000]);
    });

    it('a transfer while another process holds the write lock answers 503 (never 500)', async () => {
      // another process on the same file, holding its write lock
      const other = await new DataSource({ type: 'better-sqlite3', database: env.databaseUrl.slice('sqlite:'.length) }).initialize();
      await other.query('BEGIN IMMEDIATE');
      try {
        const res = await move();
        expect({ status: res.statusCode, code: json(res).error?.code }).toEqual({ status: 503, code: 'SERVICE_UNAVAILABLE' });
      } finally {
        await other.query('ROLLBACK');
        await other.destroy();
      }
      expect((await move()).statusCode).toBe(201);
    });
  });
});
