import { Connection, createConnection } from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { ADMIN_ENV, adminSession, bearer, Session, signUp } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv, target } from '../support/isolated-env';
import { balanceOf, deposit, openAccount, transfer, transfersOutOf } from '../support/money';
import { HeldRelays, holdRelays } from '../support/relays';
import { recordStatements, StatementRecorder } from '../support/statement-recorder';
import { json, startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/*
 * What a transfer's transaction sends, statement by statement, as the driver sees it (MySQL:
 * every statement on the connection the transaction leased, TypeORM's own included; SQLite:
 * every statement TypeORM runs). On MySQL/MariaDB the row locks are taken by the first statement
 * (the conditional UPDATE that checks and moves the money) and held to the COMMIT, so every
 * statement between them is a round trip with both accounts locked; on SQLite the transfer reads,
 * then writes (one writer: nothing to lock).
 */
const mysql = target.mysql;

/** The domain event's row, in the transaction of the change. */
const OUTBOX_INSERT = expect.stringMatching(/^INSERT INTO outbox_events \(id, type, payload, created_at\) VALUES \(\?, \?, \?, \?\)$/);

/**
 * The transaction of a transfer, statement by statement. MySQL/MariaDB: begin, one UPDATE that
 * locks both rows, checks and moves the money, the ledger row. SQLite: begin, both rows read,
 * both balances, the ledger row.
 */
function transferStatements(idempotent: boolean): unknown[] {
  const moveMoney = [
    expect.stringMatching(
      new RegExp(
        '^UPDATE accounts SET balance = CASE id WHEN \\? THEN balance - \\? WHEN \\? THEN balance \\+ \\? END, updated_at = \\? ' +
          'WHERE id IN \\(\\?, \\?\\) AND currency = \\? AND CASE id WHEN \\? THEN balance >= \\? AND owner_id = \\? WHEN \\? THEN balance <= \\? END$',
      ),
    ),
  ];
  const readThenWrite = [
    expect.stringMatching(/^SELECT [a-z_, ]+ FROM accounts WHERE id IN \(\?, \?\) ORDER BY id$/),
    expect.stringMatching(
      /^UPDATE accounts SET balance = CASE id WHEN \? THEN balance \+ \? WHEN \? THEN balance \+ \? END, updated_at = \? WHERE id IN \(\?, \?\)$/,
    ),
  ];
  return [
    mysql ? 'START TRANSACTION' : 'BEGIN TRANSACTION',
    ...(mysql ? moveMoney : readThenWrite),
    expect.stringMatching(/^INSERT INTO transactions \([a-z_, ]+\) VALUES \(\?(, \?){6}\)$/),
    OUTBOX_INSERT, // transfer.completed, committed with the transfer (core/outbox)
    ...(idempotent
      ? [expect.stringMatching(/^UPDATE idempotency_keys SET .+ WHERE id = \? AND claim_token = \? AND status = 'pending'$/)]
      : []),
    'COMMIT',
  ];
}

describe('a transfer’s transaction: one statement per step', () => {
  let env: IsolatedEnv;
  let t: TestApp;
  let admin: Session;
  let owner: Session;
  let recorder: StatementRecorder;
  /** The relays, held while statements are recorded: only the request's own go out meanwhile. */
  let held: HeldRelays | undefined;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    t = await startTestApp(env, { env: ADMIN_ENV });
    admin = await adminSession(t);
    owner = await signUp(t);
  });

  afterEach(() => {
    recorder?.stop();
    held?.release();
    held = undefined;
  });

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  async function accountsWith(balance: number): Promise<{ from: string; to: string }> {
    const from = await openAccount(t, owner);
    const to = await openAccount(t, owner);
    await deposit(t, admin, from, balance);
    return { from, to };
  }

  it.each([
    ['without an Idempotency-Key', undefined],
    ['with an Idempotency-Key (its claim completed inside the transaction)', 'statements-key'],
  ])(
    '%s: begin, the money moved (MySQL: one checking UPDATE; SQLite: read, then update), the ledger row and its event, commit',
    async (_, key) => {
      const { from, to } = await accountsWith(1_000);
      held = await holdRelays(t);
      recorder = recordStatements(t.app.get(DataSource));
      const res = await transfer(t, owner, { fromAccountId: from, toAccountId: to, amount: 300 }, key);
      recorder.stop();
      expect(res.statusCode).toBe(201);
      expect(recorder.transactions()).toEqual([transferStatements(key !== undefined)]);
      if (key) {
        // the key is claimed once, before the transaction begins: no row lock is held while the claim is written
        const isClaim = (sql: string) => /^INSERT INTO\W+idempotency_keys/i.test(sql);
        const sent = recorder.statements();
        expect(sent.filter(isClaim)).toHaveLength(1);
        expect(sent.findIndex(isClaim)).toBeLessThan(sent.findIndex((sql) => /^(START TRANSACTION|BEGIN)\b/.test(sql)));
      }
      // and it did what a transfer does
      expect([await balanceOf(t, from), await balanceOf(t, to)]).toEqual([700, 300]);
      expect(await transfersOutOf(t, from)).toBe(1);
      const made = json(res).data;
      expect(made).toMatchObject({ type: 'transfer', fromAccountId: from, toAccountId: to, amount: 300, currency: 'EUR' });
      // the raw statements store what TypeORM's own would have: read back, the row and both accounts' updatedAt are the answer's
      const get = async (url: string) =>
        json(await t.request({ method: 'GET', url: `/api/v1${url}`, headers: bearer(owner.accessToken) })).data;
      expect(await get(`/transfers/${made.id}`)).toEqual(made);
      expect([(await get(`/accounts/${from}`)).updatedAt, (await get(`/accounts/${to}`)).updatedAt]).toEqual([
        made.createdAt,
        made.createdAt,
      ]);
    },
  );

  it('a deposit: begin, the locking read, one update, the ledger row, commit', async () => {
    const account = await openAccount(t, owner);
    held = await holdRelays(t);
    recorder = recordStatements(t.app.get(DataSource));
    await deposit(t, admin, account, 500);
    recorder.stop();
    expect(recorder.transactions()).toEqual([
      [
        mysql ? 'START TRANSACTION' : 'BEGIN TRANSACTION',
        expect.stringMatching(
          new RegExp(`^SELECT [a-z_, ]+ FROM accounts WHERE id IN \\(\\?\\) ORDER BY id${mysql ? ' FOR UPDATE' : ''}$`),
        ),
        expect.stringMatching(/^UPDATE accounts SET balance = CASE id WHEN \? THEN balance \+ \? END, updated_at = \? WHERE id IN \(\?\)$/),
        expect.stringMatching(/^INSERT INTO transactions /),
        OUTBOX_INSERT,
        'COMMIT',
      ],
    ]);
    expect(await balanceOf(t, account)).toBe(500);
  });

  const describeMysql = mysql ? describe : describe.skip;

  describeMysql('MariaDB/MySQL: the transfer locks the lower id first, and only the two rows', () => {
    const connections: Connection[] = [];
    afterEach(async () => {
      await Promise.all(connections.splice(0).map((connection) => connection.end()));
    });

    const connect = async () => {
      const connection = await createConnection(env.databaseUrl);
      connections.push(connection);
      return connection;
    };

    /** True when another transaction holds `id`'s row lock (NOWAIT: the probe never waits). */
    async function locked(probe: Connection, id: string): Promise<boolean> {
      await probe.query('START TRANSACTION');
      try {
        await probe.query('SELECT id FROM accounts WHERE id = ? FOR UPDATE NOWAIT', [id]);
        return false;
      } catch (error) {
        if (['ER_LOCK_WAIT_TIMEOUT', 'ER_LOCK_NOWAIT'].includes((error as { code?: string }).code ?? '')) return true;
        throw error;
      } finally {
        await probe.query('ROLLBACK');
      }
    }

    it('money moving from the higher id to the lower: the lower row is locked while the higher is waited for', async () => {
      const [low, high] = [await openAccount(t, owner), await openAccount(t, owner)].sort() as [string, string];
      const bystander = await openAccount(t, owner);
      await deposit(t, admin, high, 1_000);
      const holder = await connect();
      const probe = await connect();
      await holder.query('START TRANSACTION');
      await holder.query('SELECT id FROM accounts WHERE id = ? FOR UPDATE', [high]);

      const moving = transfer(t, owner, { fromAccountId: high, toAccountId: low, amount: 100 });
      // waiting for `high`, the transfer already holds `low`: it took them in ascending order, whatever the direction
      await waitFor(() => locked(probe, low), 4_000, 20);
      expect(await locked(probe, bystander)).toBe(false);
      await holder.query('ROLLBACK');

      const res = await moving;
      expect(res.statusCode).toBe(201);
      expect([await balanceOf(t, high), await balanceOf(t, low)]).toEqual([900, 100]);
      expect(await locked(probe, low)).toBe(false);
    });
  });
});
