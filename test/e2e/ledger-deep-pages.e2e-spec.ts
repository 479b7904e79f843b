import { DataSource } from 'typeorm';
import { queriesDuring, queryPlan, rowsRead } from '../support/query-plan';
import { LedgerRepository } from '../../src/modules/accounts/ledger.repository';
import { bearer, Session, signUp } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv, target } from '../support/isolated-env';
import { openAccount } from '../support/money';
import { json, startTestApp, TestApp } from '../support/test-app';

/*
 * A history page is two keyset scans, one per (account, id) index, each starting at the cursor.
 * Left to itself, MariaDB reads such a scan with the account equality alone (`ref`) and walks
 * every newer row of the account before it reaches the cursor: page n cost n pages. Timing cannot
 * show that reliably; the rows the server reads can. The account gets ROWS ledger rows straight
 * in SQL, and the rows read for a page deep in its history (MariaDB's session counters
 * `Handler_read_*`, on the instance's one connection) must be those of the first page, not grow
 * with the depth. On SQLite the plan is checked instead: each side a SEARCH of its index bounded
 * by the cursor.
 */
const ROWS = 20_000;
const PAGE = 100; // the API's largest limit
const DEPTH = 10_000; // in the middle: MariaDB's own choice is at its worst there

const itMysql = target.mysql ? it : it.skip;
const itSqlite = target.mysql ? it.skip : it;

/** Ledger ids in time order (UUIDv7-shaped, older than any the service makes). */
const ledgerId = (n: number) => `01900000-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;

describe('ledger history: a deep page reads no more rows than the first', () => {
  let env: IsolatedEnv;
  let t: TestApp;
  let dataSource: DataSource;
  let owner: Session;
  let mine: string;
  /** The ids of `mine`'s history, newest first: what pages must return. */
  let expected: string[];

  beforeAll(async () => {
    env = await createIsolatedEnv();
    // one connection (MySQL): the session counters read around a page are that page's
    t = await startTestApp(env, { env: { DB_POOL_SIZE: '1' } });
    dataSource = t.app.get(DataSource);
    owner = await signUp(t);
    mine = await openAccount(t, owner);
    const theirs = await openAccount(t, await signUp(t));
    const third = await openAccount(t, await signUp(t));
    expected = await seedLedger(mine, theirs, third);
    // statistics as a table the service has been writing to for a while has them
    if (target.mysql) await dataSource.query('ANALYZE TABLE transactions');
  });

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  /**
   * ROWS rows touching `mine` (out to `theirs` and in from it, in turn) and, between them, rows
   * between two other accounts, which neither side of `mine`'s history may read.
   */
  async function seedLedger(account: string, other: string, unrelated: string): Promise<string[]> {
    const rows: unknown[][] = [];
    const ours: string[] = [];
    for (let n = 1; rows.length < ROWS * 1.25; n++) {
      const id = ledgerId(n);
      if (n % 5 === 0) rows.push([id, other, unrelated]);
      else {
        rows.push(n % 2 ? [id, account, other] : [id, other, account]);
        ours.push(id);
      }
    }
    for (let i = 0; i < rows.length; i += 1_000) {
      const batch = rows.slice(i, i + 1_000);
      await dataSource.query(
        `INSERT INTO transactions (id, type, from_account_id, to_account_id, amount, currency, created_at) VALUES ${batch.map(() => "(?, 'transfer', ?, ?, 1, 'EUR', '2024-06-01 00:00:00.000')").join(', ')}`,
        batch.flat(),
      );
    }
    return ours.reverse();
  }

  const page = (after?: string) =>
    t.request({
      method: 'GET',
      url: `/api/v1/accounts/${mine}/transactions?limit=${PAGE}${after ? `&after=${encodeURIComponent(after)}` : ''}`,
      headers: bearer(owner.accessToken),
    });

  it('pages through the whole history newest first, each row once, the deep pages included', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await page(cursor);
      expect(res.statusCode).toBe(200);
      seen.push(...json(res).data.map((entry: { id: string }) => entry.id));
      cursor = json(res).meta.cursor.next ?? undefined;
    } while (cursor);
    expect(seen).toEqual(expected);
  });

  itMysql(`MariaDB/MySQL: the page ${DEPTH} rows deep, reached by its cursor, reads what the first page does`, async () => {
    // walk to the deep page with the API's own cursors (and warm the user cache, so both measured requests do the same work)
    let cursor: string | undefined;
    for (let depth = 0; depth < DEPTH; depth += PAGE) cursor = json(await page(cursor)).meta.cursor.next;

    let first: Record<string, any> = {};
    let deep: Record<string, any> = {};
    const firstRead = await rowsRead(dataSource, async () => (first = json(await page())));
    const deepRead = await rowsRead(dataSource, async () => (deep = json(await page(cursor))));

    expect(first.data.map((entry: { id: string }) => entry.id)).toEqual(expected.slice(0, PAGE));
    expect(deep.data.map((entry: { id: string }) => entry.id)).toEqual(expected.slice(DEPTH, DEPTH + PAGE));
    // one extra row per side at most (the cursor's own side may stop one row later): nothing grows with the depth
    expect(deepRead).toBeLessThanOrEqual(firstRead + 10);
    expect(deepRead).toBeLessThan(DEPTH / 10);
  });

  itMysql('MariaDB/MySQL: the repository page right after the cursor reads a page of rows, wherever the cursor is', async () => {
    const ledger = t.app.get(LedgerRepository);
    const reads: number[] = [];
    for (const depth of [0, 1_000, DEPTH, ROWS - PAGE * 2]) {
      const before = depth === 0 ? null : expected[depth - 1]!;
      let ids: string[] = [];
      reads.push(await rowsRead(dataSource, async () => (ids = (await ledger.history(mine, before, PAGE + 1)).map((entry) => entry.id))));
      expect(ids).toEqual(expected.slice(depth, depth + PAGE + 1));
    }
    expect(Math.max(...reads) - Math.min(...reads)).toBeLessThanOrEqual(10);
  });

  itSqlite('SQLite: each side of the page is a SEARCH of its (account, id) index bounded by the cursor', async () => {
    const ledger = t.app.get(LedgerRepository);
    const { result, sent } = await queriesDuring(dataSource, () => ledger.history(mine, expected[DEPTH - 1]!, PAGE + 1));
    expect(result.map((entry) => entry.id)).toEqual(expected.slice(DEPTH, DEPTH + PAGE + 1));
    expect(sent).toHaveLength(1);
    const [sql, parameters] = sent[0]!;
    const plan = await queryPlan(dataSource, sql, parameters);
    expect(plan).toEqual(
      expect.arrayContaining([
        'SEARCH transactions USING INDEX ix_transactions_from (from_account_id=? AND id<?)',
        'SEARCH transactions USING INDEX ix_transactions_to (to_account_id=? AND id<?)',
      ]),
    );
    expect(plan.filter((step) => /^SCAN transactions\b/.test(step))).toEqual([]);
  });
});
