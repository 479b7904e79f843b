import { DataSource } from 'typeorm';
import { ADMIN_ENV, adminSession, bearer, Session, signUp } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv } from '../support/isolated-env';
import { holdRelays } from '../support/relays';
import { json, startTestApp, TestApp } from '../support/test-app';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

describe('accounts and transfers', () => {
  let env: IsolatedEnv;
  let t: TestApp;
  let admin: Session;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    t = await startTestApp(env, { env: ADMIN_ENV });
    admin = await adminSession(t);
  });

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  const call = (token: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    t.request({
      method,
      url: `/api/v1${url}`,
      headers: { ...bearer(token), ...headers },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });

  async function openAccount(owner: Session, currency = 'EUR', name = 'Main'): Promise<string> {
    const res = await call(owner.accessToken, 'POST', '/accounts', { name, currency });
    expect(res.statusCode).toBe(201);
    return json(res).data.id;
  }

  async function deposit(accountId: string, amount: number): Promise<void> {
    const res = await call(admin.accessToken, 'POST', `/accounts/${accountId}/deposits`, { amount });
    expect(res.statusCode).toBe(201);
  }

  const balanceOf = async (id: string) => json(await call(admin.accessToken, 'GET', `/accounts/${id}`)).data.balance as number;
  const transfer = (token: string, fromAccountId: string, toAccountId: string, amount: unknown, headers: Record<string, string> = {}) =>
    call(token, 'POST', '/transfers', { fromAccountId, toAccountId, amount }, headers);

  describe('accounts', () => {
    it('opens an account with balance 0 for the caller', async () => {
      const owner = await signUp(t);
      const res = await call(owner.accessToken, 'POST', '/accounts', { name: ' Savings ', currency: 'USD' });
      expect(res.statusCode).toBe(201);
      expect(json(res).data).toEqual({
        id: expect.any(String),
        ownerId: owner.id,
        name: 'Savings',
        currency: 'USD',
        balance: 0,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
    });

    it.each([
      [{ name: 'A', currency: 'usd' }, 'currency'],
      [{ name: 'A', currency: 'EURO' }, 'currency'],
      [{ name: '', currency: 'EUR' }, 'name'],
      [{ name: 'A', currency: 'EUR', balance: 100 }, 'balance'],
      [{ name: 'A', currency: 'EUR', ownerId: '01935f4e-0000-7000-8000-000000000000' }, 'ownerId'],
    ])('rejects %j with 400 VALIDATION_ERROR', async (payload, field) => {
      const owner = await signUp(t);
      const res = await call(owner.accessToken, 'POST', '/accounts', payload);
      expect(res.statusCode).toBe(400);
      expect(Object.keys(json(res).error.details)).toContain(field);
      expect(json(await call(owner.accessToken, 'GET', '/accounts')).data).toEqual([]);
    });

    it('lists the caller’s accounts; others’ are 403; admins see all or one owner’s', async () => {
      const alice = await signUp(t);
      const bob = await signUp(t);
      const a1 = await openAccount(alice);
      const a2 = await openAccount(alice, 'USD');
      await openAccount(bob);
      const mine = json(await call(alice.accessToken, 'GET', '/accounts'));
      expect(mine.data.map((a: { id: string }) => a.id)).toEqual([a1, a2]);
      expect(mine.meta.pagination).toEqual({ page: 1, pageSize: 20, total: 2, totalPages: 1 });
      expect((await call(alice.accessToken, 'GET', `/accounts?ownerId=${alice.id}`)).statusCode).toBe(200);
      expect((await call(alice.accessToken, 'GET', `/accounts?ownerId=${bob.id}`)).statusCode).toBe(403);
      const bobs = json(await call(admin.accessToken, 'GET', `/accounts?ownerId=${bob.id}`)).data;
      expect(bobs).toHaveLength(1);
      expect(json(await call(admin.accessToken, 'GET', '/accounts?pageSize=1')).meta.pagination.total).toBeGreaterThanOrEqual(3);
    });

    it('GET /accounts/:id: owner or admin 200, others 403, unknown 404, not a UUID 400', async () => {
      const alice = await signUp(t);
      const bob = await signUp(t);
      const id = await openAccount(alice);
      expect((await call(alice.accessToken, 'GET', `/accounts/${id}`)).statusCode).toBe(200);
      expect((await call(admin.accessToken, 'GET', `/accounts/${id}`)).statusCode).toBe(200);
      expect((await call(bob.accessToken, 'GET', `/accounts/${id}`)).statusCode).toBe(403);
      const unknown = await call(admin.accessToken, 'GET', '/accounts/01935f4e-0000-7000-8000-00000000abcd');
      expect(json(unknown).error).toMatchObject({ code: 'NOT_FOUND', details: { resource: 'Account' } });
      expect((await call(admin.accessToken, 'GET', '/accounts/42')).statusCode).toBe(400);
    });
  });

  describe('deposits', () => {
    it('an admin deposits: 201 Transaction, balance grows', async () => {
      const owner = await signUp(t);
      const id = await openAccount(owner);
      const res = await call(admin.accessToken, 'POST', `/accounts/${id}/deposits`, { amount: 12_345 });
      expect(res.statusCode).toBe(201);
      expect(json(res).data).toEqual({
        id: expect.any(String),
        type: 'deposit',
        fromAccountId: null,
        toAccountId: id,
        amount: 12_345,
        currency: 'EUR',
        createdAt: expect.any(String),
      });
      expect(await balanceOf(id)).toBe(12_345);
    });

    it('non-admins cannot deposit (403)', async () => {
      const owner = await signUp(t);
      const id = await openAccount(owner);
      expect((await call(owner.accessToken, 'POST', `/accounts/${id}/deposits`, { amount: 5 })).statusCode).toBe(403);
      expect(await balanceOf(id)).toBe(0);
    });

    it.each([[1.5], ['100'], [0], [-5], [1e15 + 1], [null], [true]])(
      'amount %p is 400 VALIDATION_ERROR and changes nothing',
      async (amount) => {
        const owner = await signUp(t);
        const id = await openAccount(owner);
        const res = await call(admin.accessToken, 'POST', `/accounts/${id}/deposits`, { amount });
        expect(res.statusCode).toBe(400);
        expect(json(res).error.details.amount).toBeDefined();
        expect(await balanceOf(id)).toBe(0);
      },
    );

    it('the largest amount (10^15) is accepted; a balance past 2^53 − 1 is 422 BALANCE_LIMIT', async () => {
      const owner = await signUp(t);
      const id = await openAccount(owner);
      for (let i = 0; i < 9; i++) await deposit(id, 1e15);
      await deposit(id, MAX_SAFE - 9e15);
      expect(await balanceOf(id)).toBe(MAX_SAFE);
      const over = await call(admin.accessToken, 'POST', `/accounts/${id}/deposits`, { amount: 1 });
      expect(over.statusCode).toBe(422);
      expect(json(over).error.code).toBe('BALANCE_LIMIT');
      expect(await balanceOf(id)).toBe(MAX_SAFE);
      expect(
        (await call(admin.accessToken, 'POST', '/accounts/01935f4e-0000-7000-8000-00000000abcd/deposits', { amount: 1 })).statusCode,
      ).toBe(404);
    });
  });

  describe('transfers', () => {
    let alice: Session;
    let bob: Session;
    let aliceEur: string;
    let aliceUsd: string;
    let bobEur: string;

    beforeAll(async () => {
      alice = await signUp(t);
      bob = await signUp(t);
      aliceEur = await openAccount(alice, 'EUR');
      aliceUsd = await openAccount(alice, 'USD');
      bobEur = await openAccount(bob, 'EUR');
      await deposit(aliceEur, 10_000);
    });

    it('moves money: 201 Transaction, one ledger row, both balances', async () => {
      const before = [await balanceOf(aliceEur), await balanceOf(bobEur)];
      const res = await transfer(alice.accessToken, aliceEur, bobEur, 2_500);
      expect(res.statusCode).toBe(201);
      const tx = json(res).data;
      expect(tx).toMatchObject({ type: 'transfer', fromAccountId: aliceEur, toAccountId: bobEur, amount: 2_500, currency: 'EUR' });
      expect([await balanceOf(aliceEur), await balanceOf(bobEur)]).toEqual([before[0]! - 2_500, before[1]! + 2_500]);
      // both owners (and admins) see it; others do not
      expect((await call(bob.accessToken, 'GET', `/transfers/${tx.id}`)).statusCode).toBe(200);
      expect((await call(admin.accessToken, 'GET', `/transfers/${tx.id}`)).statusCode).toBe(200);
      const stranger = await signUp(t);
      expect((await call(stranger.accessToken, 'GET', `/transfers/${tx.id}`)).statusCode).toBe(403);
      expect((await call(alice.accessToken, 'GET', '/transfers/01935f4e-0000-7000-8000-00000000abcd')).statusCode).toBe(404);
    });

    it('the same account on both sides is 400 VALIDATION_ERROR', async () => {
      const res = await transfer(alice.accessToken, aliceEur, aliceEur, 1);
      expect(res.statusCode).toBe(400);
      expect(json(res).error.code).toBe('VALIDATION_ERROR');
    });

    it('answers each rule with its code and moves nothing', async () => {
      const balances = async () => [await balanceOf(aliceEur), await balanceOf(aliceUsd), await balanceOf(bobEur)];
      const before = await balances();
      const cases: Array<[ReturnType<typeof transfer>, number, string]> = [
        [transfer(alice.accessToken, aliceEur, '01935f4e-0000-7000-8000-00000000abcd', 1), 404, 'NOT_FOUND'],
        [transfer(alice.accessToken, '01935f4e-0000-7000-8000-00000000abcd', bobEur, 1), 404, 'NOT_FOUND'],
        [transfer(bob.accessToken, aliceEur, bobEur, 1), 403, 'FORBIDDEN'],
        [transfer(alice.accessToken, aliceEur, aliceUsd, 1), 422, 'CURRENCY_MISMATCH'],
        [transfer(alice.accessToken, aliceEur, bobEur, 1e15), 422, 'INSUFFICIENT_FUNDS'],
        [transfer(alice.accessToken, aliceEur, bobEur, 0.5), 400, 'VALIDATION_ERROR'],
        [transfer(alice.accessToken, aliceEur, bobEur, '5'), 400, 'VALIDATION_ERROR'],
        [transfer(alice.accessToken, 'nope', bobEur, 5), 400, 'VALIDATION_ERROR'],
      ];
      for (const [pending, status, code] of cases) {
        const res = await pending;
        expect({ status: res.statusCode, code: json(res).error.code }).toEqual({ status, code });
      }
      expect(await balances()).toEqual(before);
    });

    it('a transfer that would push the target past 2^53 − 1 is 422 BALANCE_LIMIT', async () => {
      const rich = await signUp(t);
      const full = await openAccount(rich);
      for (let i = 0; i < 9; i++) await deposit(full, 1e15);
      await deposit(full, MAX_SAFE - 9e15);
      const before = await balanceOf(aliceEur);
      const res = await transfer(alice.accessToken, aliceEur, full, 1);
      expect(res.statusCode).toBe(422);
      expect(json(res).error.code).toBe('BALANCE_LIMIT');
      // the source passed its checks, the target did not: nothing moved on either side
      expect([await balanceOf(aliceEur), await balanceOf(full)]).toEqual([before, MAX_SAFE]);
    });

    it('UUIDs in the body are accepted in upper case', async () => {
      const res = await transfer(alice.accessToken, aliceEur.toUpperCase(), bobEur.toUpperCase(), 1);
      expect(res.statusCode).toBe(201);
      expect(json(res).data).toMatchObject({ fromAccountId: aliceEur, toAccountId: bobEur });
      expect((await call(alice.accessToken, 'GET', `/accounts?ownerId=${alice.id.toUpperCase()}`)).statusCode).toBe(200);
    });

    it('an admin may move money out of any account', async () => {
      expect((await transfer(admin.accessToken, aliceEur, bobEur, 1)).statusCode).toBe(201);
    });
  });

  describe('history', () => {
    it('newest first, cursor mode: a complete walk; page/pageSize and bad cursors are 400 BAD_REQUEST', async () => {
      const owner = await signUp(t);
      const other = await signUp(t);
      const mine = await openAccount(owner);
      const theirs = await openAccount(other);
      await deposit(mine, 1_000);
      await deposit(theirs, 1_000);
      const ids: string[] = [];
      for (let i = 1; i <= 7; i++) {
        const [from, to, who] = i % 2 ? [mine, theirs, owner] : [theirs, mine, other];
        ids.push(json(await transfer(who.accessToken, from, to, i)).data.id);
      }
      const walked: Array<{ id: string; type: string }> = [];
      let after: string | null = null;
      do {
        const query: string = after ? `?limit=3&after=${encodeURIComponent(after)}` : '?limit=3';
        const body = json(await call(owner.accessToken, 'GET', `/accounts/${mine}/transactions${query}`));
        expect(body.meta.cursor.limit).toBe(3);
        walked.push(...body.data);
        after = body.meta.cursor.next;
      } while (after);
      expect(walked.map((tx) => tx.id)).toEqual([...ids].reverse().concat(walked.at(-1)!.id));
      expect(walked.at(-1)!.type).toBe('deposit');

      for (const query of ['?page=1', '?pageSize=5', '?after=garbage']) {
        const res = await call(owner.accessToken, 'GET', `/accounts/${mine}/transactions${query}`);
        expect({ query, status: res.statusCode, code: json(res).error?.code }).toEqual({ query, status: 400, code: 'BAD_REQUEST' });
      }
      // a cursor of another account's history does not fit this one
      const theirCursor = json(await call(other.accessToken, 'GET', `/accounts/${theirs}/transactions?limit=1`)).meta.cursor.next;
      expect(
        (await call(owner.accessToken, 'GET', `/accounts/${mine}/transactions?after=${encodeURIComponent(theirCursor)}`)).statusCode,
      ).toBe(400);
      expect((await call(other.accessToken, 'GET', `/accounts/${mine}/transactions`)).statusCode).toBe(403);
    });
  });

  describe('Idempotency-Key', () => {
    let owner: Session;
    let from: string;
    let to: string;

    beforeAll(async () => {
      owner = await signUp(t);
      from = await openAccount(owner);
      to = await openAccount(owner);
      await deposit(from, 100_000);
    });

    it('a retry with the same key and body replays the stored answer and moves no money', async () => {
      const key = { 'idempotency-key': `retry-${Date.now()}` };
      const first = await transfer(owner.accessToken, from, to, 700, key);
      expect(first.statusCode).toBe(201);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      const balance = await balanceOf(from);
      const again = await transfer(owner.accessToken, from, to, 700, key);
      expect(again.statusCode).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(json(again).data).toEqual(json(first).data);
      expect(await balanceOf(from)).toBe(balance);
    });

    it('the same key with a different body is 422 IDEMPOTENCY_KEY_MISMATCH', async () => {
      const key = { 'idempotency-key': `mismatch-${Date.now()}` };
      expect((await transfer(owner.accessToken, from, to, 10, key)).statusCode).toBe(201);
      const other = await transfer(owner.accessToken, from, to, 11, key);
      expect(other.statusCode).toBe(422);
      expect(json(other).error.code).toBe('IDEMPOTENCY_KEY_MISMATCH');
    });

    it('stores 4xx business answers (422, 404) and replays them; 400s are not stored', async () => {
      const key = { 'idempotency-key': `fail-${Date.now()}` };
      const poor = await transfer(owner.accessToken, from, to, 1e15, key);
      expect(poor.statusCode).toBe(422);
      const replay = await transfer(owner.accessToken, from, to, 1e15, key);
      expect(replay.statusCode).toBe(422);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(json(replay).error).toEqual(json(poor).error);

      const badKey = { 'idempotency-key': `bad-body-${Date.now()}` };
      expect((await transfer(owner.accessToken, from, to, -1, badKey)).statusCode).toBe(400);
      expect((await transfer(owner.accessToken, from, to, 5, badKey)).statusCode).toBe(201);
    });

    it('keys are scoped to the caller', async () => {
      const key = { 'idempotency-key': `shared-${Date.now()}` };
      const other = await signUp(t);
      const otherFrom = await openAccount(other);
      const otherTo = await openAccount(other);
      await deposit(otherFrom, 100);
      expect((await transfer(owner.accessToken, from, to, 3, key)).statusCode).toBe(201);
      const theirs = await transfer(other.accessToken, otherFrom, otherTo, 4, key);
      expect(theirs.statusCode).toBe(201);
      expect(theirs.headers['idempotent-replayed']).toBeUndefined();
    });

    it.each([[''], ['x'.repeat(256)], ['tab\there'], ['ünïcode']])('a malformed key (%#) is 400', async (value) => {
      const res = await transfer(owner.accessToken, from, to, 1, { 'idempotency-key': value });
      expect(res.statusCode).toBe(400);
    });

    it('15 concurrent requests with one key move money exactly once; the rest replay or 409', async () => {
      const key = { 'idempotency-key': `burst-${Date.now()}` };
      const before = await balanceOf(from);
      const results = await Promise.all(Array.from({ length: 15 }, () => transfer(owner.accessToken, from, to, 1_000, key)));
      const fresh = results.filter((r) => r.statusCode === 201 && r.headers['idempotent-replayed'] === undefined);
      const replays = results.filter((r) => r.statusCode === 201 && r.headers['idempotent-replayed'] === 'true');
      const conflicts = results.filter((r) => r.statusCode === 409);
      expect(fresh).toHaveLength(1);
      expect(replays.length + conflicts.length).toBe(14);
      for (const r of replays) expect(json(r).data.id).toBe(json(fresh[0]!).data.id);
      for (const r of conflicts) expect(json(r).error.code).toBe('CONFLICT');
      expect(await balanceOf(from)).toBe(before - 1_000);
      const later = await transfer(owner.accessToken, from, to, 1_000, key);
      expect(later.headers['idempotent-replayed']).toBe('true');
      expect(await balanceOf(from)).toBe(before - 1_000);
    });
  });

  it('bank test: hundreds of random transfers, 40 in flight, keep every invariant', async () => {
    const owners = [await signUp(t), await signUp(t), await signUp(t)];
    const accounts: Array<{ id: string; owner: Session }> = [];
    for (const owner of owners) for (let i = 0; i < 2; i++) accounts.push({ id: await openAccount(owner), owner });
    const deposits = [5_000, 3_000, 1_000, 8_000, 2_000, 500];
    for (const [i, account] of accounts.entries()) await deposit(account.id, deposits[i]!);
    const total = deposits.reduce((a, b) => a + b, 0);

    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const jobs = Array.from({ length: 400 }, (_, i) => {
      // a pair and its reverse, over and over: the deadlock-prone pattern
      const a = accounts[Math.floor(random() * 6)]!;
      let b = accounts[Math.floor(random() * 6)]!;
      if (b === a) b = accounts[(accounts.indexOf(a) + 1) % 6]!;
      const [src, dst] = i % 2 ? [a, b] : [b, a];
      return () => transfer(src.owner.accessToken, src.id, dst.id, 1 + Math.floor(random() * 1_500));
    });
    const statuses: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 40 }, async () => {
        while (next < jobs.length) {
          const res = await jobs[next++]!();
          statuses.push(res.statusCode);
        }
      }),
    );
    expect(statuses.filter((s) => s !== 201 && s !== 422)).toEqual([]);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThan(50);

    const balances = await Promise.all(accounts.map((a) => balanceOf(a.id)));
    expect(balances.reduce((a, b) => a + b, 0)).toBe(total);
    expect(balances.every((b) => b >= 0)).toBe(true);
    // each balance equals its deposits + incoming − outgoing, from the ledger
    const dataSource = t.app.get(DataSource);
    for (const [i, account] of accounts.entries()) {
      const [row] = await dataSource.query(
        `SELECT COALESCE(SUM(CASE WHEN to_account_id = ? THEN amount ELSE 0 END), 0) - COALESCE(SUM(CASE WHEN from_account_id = ? THEN amount ELSE 0 END), 0) AS net
         FROM transactions WHERE to_account_id = ? OR from_account_id = ?`,
        [account.id, account.id, account.id, account.id],
      );
      expect(Number(row.net)).toBe(balances[i]);
    }
    const [count] = await dataSource.query(
      `SELECT COUNT(*) AS n FROM transactions WHERE type = 'transfer' AND from_account_id IN (${accounts.map(() => '?').join(',')})`,
      accounts.map((a) => a.id),
    );
    expect(Number(count.n)).toBe(statuses.filter((s) => s === 201).length);
  });

  describe('users and their accounts', () => {
    it('include=accounts embeds accounts with a query count independent of page size (no N+1)', async () => {
      for (let i = 0; i < 8; i++) {
        const user = await signUp(t);
        await openAccount(user);
        await openAccount(user, 'USD');
      }
      // the relays held (their passes run on their own clocks); every statement TypeORM sends is reported to the DataSource's logger
      const held = await holdRelays(t);
      const spy = jest.spyOn(t.app.get(DataSource).logger, 'logQuery');
      const counted = () => spy.mock.calls.length;
      const queriesFor = async (pageSize: number) => {
        spy.mockClear();
        const res = await call(admin.accessToken, 'GET', `/users?include=accounts&pageSize=${pageSize}&orderBy=createdAt&orderDir=desc`);
        expect(res.statusCode).toBe(200);
        expect(json(res).data).toHaveLength(pageSize);
        return { count: counted(), body: json(res) };
      };
      try {
        const small = await queriesFor(2);
        const large = await queriesFor(8);
        expect(large.count).toBe(small.count);
        expect(small.count).toBeGreaterThan(0);
        const newest = large.body.data[0];
        expect(newest.accounts.map((a: { currency: string }) => a.currency).sort()).toEqual(['EUR', 'USD']);
      } finally {
        spy.mockRestore();
        held.release();
      }
      // without include, no accounts key
      expect(json(await call(admin.accessToken, 'GET', '/users?pageSize=1')).data[0]).not.toHaveProperty('accounts');
      // cursor mode embeds too; an include no module registered is a validation error on the field
      const cursor = json(await call(admin.accessToken, 'GET', '/users?include=accounts&limit=1&orderBy=createdAt&orderDir=desc'));
      expect(cursor.data[0].accounts).toHaveLength(2);
      for (const include of ['bogus', 'email', 'constructor']) {
        const refused = await call(admin.accessToken, 'GET', `/users?include=${include}&pageSize=1`);
        expect(refused.statusCode).toBe(400);
        expect(json(refused).error).toMatchObject({
          code: 'VALIDATION_ERROR',
          details: { include: [expect.stringContaining('accounts')] },
        });
      }
    });

    it('DELETE /users/:id is 409 while the user owns money, 204 once the balance is zero', async () => {
      const user = await signUp(t);
      const account = await openAccount(user);
      const empty = await openAccount(user, 'USD');
      const sink = await openAccount(await signUp(t));
      await deposit(account, 50);
      const refused = await call(admin.accessToken, 'DELETE', `/users/${user.id}`);
      expect(refused.statusCode).toBe(409);
      expect(json(refused).error.code).toBe('CONFLICT');
      expect((await call(admin.accessToken, 'GET', `/users/${user.id}`)).statusCode).toBe(200);
      expect((await call(admin.accessToken, 'GET', `/accounts/${empty}`)).statusCode).toBe(200);

      expect((await transfer(user.accessToken, account, sink, 50)).statusCode).toBe(201);
      expect((await call(admin.accessToken, 'DELETE', `/users/${user.id}`)).statusCode).toBe(204);
      expect((await call(admin.accessToken, 'GET', `/accounts/${account}`)).statusCode).toBe(404);
      // the ledger keeps the history
      expect(json(await call(admin.accessToken, 'GET', `/accounts/${sink}/transactions`)).data[0]).toMatchObject({
        fromAccountId: account,
      });
    });
  });
});
