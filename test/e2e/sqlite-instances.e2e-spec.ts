import { AccountsRepository } from '../../src/modules/accounts/accounts.repository';
import { ADMIN_ENV, adminSession, Session, signUp } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv, target } from '../support/isolated-env';
import { balanceOf, deposit, openAccount, transfer, transfersOutOf } from '../support/money';
import { json, startTestApp, TestApp } from '../support/test-app';

/*
 * Two instances on one SQLite file (WAL). A unit of work is a deferred transaction: it reads
 * first (lockMany takes no row locks on SQLite) and becomes a writer at its first UPDATE. If the
 * other instance committed in between, that UPDATE fails at once with SQLITE_BUSY_SNAPSHOT (an
 * extended code: better-sqlite3 reports those, never the bare SQLITE_BUSY) — the snapshot it read
 * is stale, so the whole unit of work must run again, as after a deadlock on MariaDB.
 * MariaDB has no such interleaving: the second transfer waits for the first one's row locks.
 */
const describeSqlite = target.mysql ? describe.skip : describe;

describeSqlite('two instances on one SQLite file: a transfer whose snapshot went stale is retried', () => {
  let env: IsolatedEnv;
  let a: TestApp;
  let b: TestApp;
  let admin: Session;
  let owner: Session;
  const resumes: Array<() => void> = [];

  beforeAll(async () => {
    env = await createIsolatedEnv();
    a = await startTestApp(env, { env: ADMIN_ENV });
    b = await startTestApp(env, { env: ADMIN_ENV });
    admin = await adminSession(a);
    owner = await signUp(a);
  });

  afterEach(() => {
    // a failed assertion must not leave b paused inside its transaction
    resumes.splice(0).forEach((resume) => resume());
    jest.restoreAllMocks();
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await env?.destroy();
  });

  /** b's next transfer stops right after it read the accounts, inside its transaction, until `resume()`. */
  function pauseAfterRead(t: TestApp) {
    const repository = t.app.get(AccountsRepository);
    const lockMany = repository.lockMany.bind(repository);
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    resumes.push(resume);
    let paused!: () => void;
    const pausing = new Promise<void>((resolve) => (paused = resolve));
    const spy = jest.spyOn(repository, 'lockMany').mockImplementation(async (...args) => {
      const read = await lockMany(...args);
      if (spy.mock.calls.length === 1) {
        paused();
        await resumed;
      }
      return read;
    });
    return { pausing, resume, reads: () => spy.mock.calls.length };
  }

  async function accountsWith(balance: number): Promise<{ from: string; to: string }> {
    const from = await openAccount(a, owner);
    const to = await openAccount(a, owner);
    await deposit(a, admin, from, balance);
    return { from, to };
  }

  it('the other instance commits between its read and its write: it runs again and answers 201, both transfers count', async () => {
    const { from, to } = await accountsWith(1_000);
    const pause = pauseAfterRead(b);
    const late = transfer(b, owner, { fromAccountId: from, toAccountId: to, amount: 100 });
    await pause.pausing;

    expect((await transfer(a, owner, { fromAccountId: from, toAccountId: to, amount: 300 })).statusCode).toBe(201);
    pause.resume();

    const res = await late;
    expect({ status: res.statusCode, body: json(res).error }).toEqual({ status: 201, body: undefined });
    expect(pause.reads()).toBe(2); // read again, on a fresh snapshot
    expect(await transfersOutOf(a, from)).toBe(2);
    expect([await balanceOf(a, from), await balanceOf(a, to)]).toEqual([600, 400]);
  });

  it('its retry reads what the other instance committed: money it no longer has is refused (422), not overdrawn', async () => {
    const { from, to } = await accountsWith(150);
    const pause = pauseAfterRead(b);
    const late = transfer(b, owner, { fromAccountId: from, toAccountId: to, amount: 100 });
    await pause.pausing;

    expect((await transfer(a, owner, { fromAccountId: from, toAccountId: to, amount: 100 })).statusCode).toBe(201);
    pause.resume();

    const res = await late;
    expect({ status: res.statusCode, code: json(res).error?.code }).toEqual({ status: 422, code: 'INSUFFICIENT_FUNDS' });
    expect(await transfersOutOf(a, from)).toBe(1);
    expect([await balanceOf(a, from), await balanceOf(a, to)]).toEqual([50, 100]);
  });
});
