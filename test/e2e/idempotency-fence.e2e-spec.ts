import { randomUUID } from 'node:crypto';
import { Connection, createConnection } from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { UnitOfWork } from '../../src/core/database/unit-of-work';
import { TransfersService } from '../../src/modules/accounts/transfers.service';
import { ADMIN_ENV, adminSession, Session, signUp } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv, target } from '../support/isolated-env';
import { balanceOf, deposit, openAccount, transfer, transfersOutOf } from '../support/money';
import { json, startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/*
 * A claim on an Idempotency-Key outlives its lease while its holder still runs; a retry takes it
 * over. Whatever the stale holder does afterwards (complete, store an error, give the key back)
 * must not count: exactly one transfer, and the key's answer is the successor's.
 *
 * Time passing is simulated by ageing the claim row (claimed_at far in the past), which is all
 * the lease looks at.
 */
const LONG_AGO = '2000-01-01 00:00:00.000';

async function ageClaims(t: TestApp, callerId: string): Promise<void> {
  await t.app
    .get(DataSource)
    .query("UPDATE idempotency_keys SET claimed_at = ? WHERE caller_id = ? AND status = 'pending'", [LONG_AGO, callerId]);
}

const CLAIM = /^INSERT INTO\W+idempotency_keys/i;
const TAKEOVER = /^UPDATE\W+idempotency_keys/i;

/**
 * Stalls the next request of `t` that claims (or takes over) a key right after that statement:
 * a unit of work is started the moment it goes out, so the request's own transaction waits
 * behind it (SQLite: the instance's one-transaction gate; MySQL with DB_POOL_SIZE=1: the
 * instance's one connection). A holder between its claim and its completion, as a slow database
 * or a paused process leaves it; on SQLite this is how a takeover can interleave at all (two
 * instances on one file, each with its own gate).
 */
const stalls: Array<{ release(): Promise<void> }> = [];

function stallAfter(t: TestApp, statement: RegExp) {
  const dataSource = t.app.get(DataSource);
  const uow = t.app.get(UnitOfWork);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let stalled!: () => void;
  const stalling = new Promise<void>((resolve) => (stalled = resolve));
  let blocker: Promise<void> | null = null;
  const logQuery = dataSource.logger.logQuery.bind(dataSource.logger);
  const spy = jest.spyOn(dataSource.logger, 'logQuery').mockImplementation((query, ...rest) => {
    if (!blocker && statement.test(query)) {
      blocker = uow.run(async () => {
        stalled();
        await released;
      });
    }
    return logQuery(query, ...rest);
  });
  const stall = {
    stalling,
    async release(): Promise<void> {
      spy.mockRestore();
      release();
      await blocker?.catch(() => undefined); // held past its own deadline it rolls back (503): it wrote nothing anyway
    },
  };
  stalls.push(stall);
  return stall;
}

describe('Idempotency-Key claims are fenced: a holder taken over never completes', () => {
  let env: IsolatedEnv;
  let a: TestApp; // where the stale holder runs
  let b: TestApp; // where the retry that takes over runs
  let admin: Session;
  let owner: Session;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    // one connection each (MySQL), so either can be stalled; on a, the shortest bounds, so a stall outlasts a run's deadline in seconds
    a = await startTestApp(env, { env: { ...ADMIN_ENV, DB_POOL_SIZE: '1', DB_LOCK_TIMEOUT: '1', DB_STATEMENT_TIMEOUT: '1' } });
    b = await startTestApp(env, { env: { ...ADMIN_ENV, DB_POOL_SIZE: '1' } });
    admin = await adminSession(b);
    owner = await signUp(b);
  });

  afterEach(async () => {
    // a failed assertion must not leave an instance stalled for the next test
    await Promise.all(stalls.splice(0).map((stall) => stall.release()));
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await env?.destroy();
  });

  async function accountsWith(balance: number): Promise<{ from: string; to: string }> {
    const from = await openAccount(b, owner);
    const to = await openAccount(b, owner);
    await deposit(b, admin, from, balance);
    return { from, to };
  }

  /** Request 1 on `a` claims `key` and stalls; its claim ages past the lease; request 2 on `b` takes it over and succeeds. */
  async function takeOverWhileStalled(body: { fromAccountId: string; toAccountId: string; amount: number }, key: string) {
    const stall = stallAfter(a, CLAIM);
    const startedAt = Date.now();
    const stale = transfer(a, owner, body, key);
    await stall.stalling;
    await ageClaims(b, owner.id);
    const successor = await transfer(b, owner, body, key);
    expect(successor.statusCode).toBe(201);
    expect(successor.headers['idempotent-replayed']).toBeUndefined();
    return { stall, stale, successor, startedAt };
  }

  async function expectKeyAnswers(
    key: string,
    body: { fromAccountId: string; toAccountId: string; amount: number },
    transactionId: string,
  ) {
    const replay = await transfer(b, owner, body, key);
    expect(replay.statusCode).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(json(replay).data.id).toBe(transactionId);
  }

  it('the lease outlasts the longest a unit of work may run before committing (derived from DB_STATEMENT_TIMEOUT)', () => {
    for (const app of [a, b]) expect(app.app.get(TransfersService).claimLeaseMs).toBeGreaterThan(app.app.get(UnitOfWork).maxRunMs);
    expect(b.app.get(UnitOfWork).maxRunMs).toBeGreaterThanOrEqual(6 * 10_000); // the default bound, six attempts
  });

  it('the stale holder’s completion is refused in its own transaction: one transfer, it answers 409', async () => {
    const { from, to } = await accountsWith(1_000);
    const body = { fromAccountId: from, toAccountId: to, amount: 100 };
    const key = `fence-${randomUUID()}`;
    const { stall, stale, successor } = await takeOverWhileStalled(body, key);

    await stall.release();
    const res = await stale;
    expect({ status: res.statusCode, code: json(res).error?.code }).toEqual({ status: 409, code: 'CONFLICT' });
    expect(await transfersOutOf(b, from)).toBe(1);
    expect([await balanceOf(b, from), await balanceOf(b, to)]).toEqual([900, 100]);
    await expectKeyAnswers(key, body, json(successor).data.id);
  });

  it('the claim token decides, not who finishes first: the stale holder loses even when it reaches its completion first', async () => {
    const { from, to } = await accountsWith(1_000);
    const body = { fromAccountId: from, toAccountId: to, amount: 100 };
    const key = `token-${randomUUID()}`;
    const staleStall = stallAfter(a, CLAIM);
    const stale = transfer(a, owner, body, key);
    await staleStall.stalling;
    await ageClaims(b, owner.id);
    const successorStall = stallAfter(b, TAKEOVER);
    const successor = transfer(b, owner, body, key);
    await successorStall.stalling; // the claim is the successor's; its transfer has not started

    await staleStall.release();
    const staleRes = await stale;
    expect({ status: staleRes.statusCode, code: json(staleRes).error?.code }).toEqual({ status: 409, code: 'CONFLICT' });
    await successorStall.release();
    const successorRes = await successor;
    expect(successorRes.statusCode).toBe(201);
    expect(await transfersOutOf(b, from)).toBe(1);
    expect(await balanceOf(b, from)).toBe(900);
    await expectKeyAnswers(key, body, json(successorRes).data.id);
  });

  it('the stale holder’s 4xx answer is not stored over its successor’s (409, and the key still answers 201)', async () => {
    const { from, to } = await accountsWith(100);
    const body = { fromAccountId: from, toAccountId: to, amount: 100 };
    const key = `store-${randomUUID()}`;
    const { stall, stale, successor } = await takeOverWhileStalled(body, key);

    await stall.release(); // the successor spent the money: the stale holder now meets INSUFFICIENT_FUNDS
    const res = await stale;
    expect({ status: res.statusCode, code: json(res).error?.code }).toEqual({ status: 409, code: 'CONFLICT' });
    expect(await transfersOutOf(b, from)).toBe(1);
    await expectKeyAnswers(key, body, json(successor).data.id);
  });

  it('the stale holder’s 5xx does not give its successor’s key back (a retry replays, moves nothing)', async () => {
    const { from, to } = await accountsWith(1_000);
    const body = { fromAccountId: from, toAccountId: to, amount: 100 };
    const key = `release-${randomUUID()}`;
    const { stall, stale, successor, startedAt } = await takeOverWhileStalled(body, key);

    // held past its unit of work's deadline, the stale holder rolls back and answers 503. That deadline starts
    // when its unit of work is asked for, after its claim: some ms after `startedAt` (tens on a loaded machine;
    // released before it, the run starts in time and the fence answers 409), so wait a second past it
    const { maxRunMs } = a.app.get(UnitOfWork);
    await waitFor(() => Date.now() - startedAt > maxRunMs + 1_000, maxRunMs + 6_000);
    await stall.release();
    const res = await stale;
    expect({ status: res.statusCode, code: json(res).error?.code }).toEqual({ status: 503, code: 'SERVICE_UNAVAILABLE' });
    await expectKeyAnswers(key, body, json(successor).data.id);
    expect(await transfersOutOf(b, from)).toBe(1);
    expect(await balanceOf(b, from)).toBe(900);
  });
});

const describeMysql = target.mysql ? describe : describe.skip;

describeMysql('Idempotency-Key takeover under LOCK TABLES (MariaDB; LOCK TABLES does not exist on SQLite)', () => {
  let env: IsolatedEnv;
  let t: TestApp;
  let admin: Session;
  let locker: Connection;
  let observer: Connection;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    // bounds well above the test's own steps: the waits below end when the test unlocks, not by timing out
    t = await startTestApp(env, { env: { ...ADMIN_ENV, DB_LOCK_TIMEOUT: '30', DB_STATEMENT_TIMEOUT: '30' } });
    admin = await adminSession(t);
    locker = await createConnection(env.databaseUrl);
    observer = await createConnection(env.databaseUrl);
  });

  afterAll(async () => {
    await locker?.end();
    await observer?.end();
    await t?.close();
    await env?.destroy();
  });

  const waitingForTableLock = async () => {
    const [rows] = await observer.query(
      "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND STATE = 'Waiting for table metadata lock'",
    );
    return Number((rows as Array<{ n: number }>)[0]!.n);
  };

  it('the request that took a stale claim over and the stale holder both wake up: one transfer, no 500', async () => {
    const owner = await signUp(t);
    const from = await openAccount(t, owner);
    const to = await openAccount(t, owner);
    await deposit(t, admin, from, 10_000);
    const body = { fromAccountId: from, toAccountId: to, amount: 2_500 };
    const key = `locked-${randomUUID()}`;

    await locker.query('LOCK TABLES accounts READ');
    let unlocked = false;
    try {
      const first = transfer(t, owner, body, key);
      await waitFor(async () => (await waitingForTableLock()) >= 1);
      // what 66 s of waiting does: the claim is now older than the lease
      await observer.query("UPDATE idempotency_keys SET claimed_at = ? WHERE caller_id = ? AND status = 'pending'", [LONG_AGO, owner.id]);
      const second = transfer(t, owner, body, key);
      await waitFor(async () => (await waitingForTableLock()) >= 2);
      await locker.query('UNLOCK TABLES');
      unlocked = true;

      // whichever of the two gets the row locks first, the stale holder is the one that loses
      const [stale, winner] = await Promise.all([first, second]);
      expect({ status: stale.statusCode, code: json(stale).error?.code }).toEqual({ status: 409, code: 'CONFLICT' });
      expect(winner.statusCode).toBe(201);
      expect(await transfersOutOf(t, from)).toBe(1);
      expect([await balanceOf(t, from), await balanceOf(t, to)]).toEqual([7_500, 2_500]);
      const replay = await transfer(t, owner, body, key);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(json(replay).data.id).toBe(json(winner).data.id);
    } finally {
      if (!unlocked) await locker.query('UNLOCK TABLES');
    }
  });
});
