import { DataSource } from 'typeorm';
import { adminSession, ADMIN_ENV, bearer, Session } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv, target } from '../support/isolated-env';
import { queriesDuring, queryPlan, rowsRead } from '../support/query-plan';
import { json, startTestApp, TestApp } from '../support/test-app';

/*
 * A users page in cursor mode is a keyset scan of the sort's index, starting at the cursor, for
 * every sort the API offers (`createdAt`, `name`, `email`, either direction). Timing cannot show
 * that a deep page costs what the first does; the rows the server reads can (MariaDB's session
 * counters `Handler_read_*`, on the instance's one connection). On SQLite the plan is checked
 * instead: a SEARCH of the sort's index bounded by the cursor, never a SCAN or a sort.
 */
const ROWS = 6_000;
const PAGE = 100; // the API's largest limit
const DEPTH = 3_000;
const SORTS = ['createdAt', 'name', 'email'] as const;
const DIRECTIONS = ['asc', 'desc'] as const;

const itMysql = target.mysql ? it : it.skip;
const itSqlite = target.mysql ? it.skip : it;

/** User ids older than any the service makes (UUIDv7-shaped). */
const userId = (n: number) => `01900000-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;

describe('users in cursor mode: a deep page reads no more rows than the first, for every sort', () => {
  let env: IsolatedEnv;
  let t: TestApp;
  let dataSource: DataSource;
  let admin: Session;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    // one connection (MySQL): the session counters read around a page are that page's
    t = await startTestApp(env, { env: { ...ADMIN_ENV, DB_POOL_SIZE: '1' } });
    dataSource = t.app.get(DataSource);
    admin = await adminSession(t);
    await seedUsers();
    if (target.mysql) await dataSource.query('ANALYZE TABLE users');
  });

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  /**
   * ROWS users whose names repeat (ten to a name, so the id breaks ties) and whose creation times
   * repeat in pairs, in an order unlike that of their emails.
   */
  async function seedUsers(): Promise<void> {
    const rows: unknown[][] = [];
    for (let n = 1; n <= ROWS; n++) {
      const scrambled = (n * 7_919) % ROWS;
      const createdAt = new Date(Date.UTC(2024, 0, 1) + Math.floor(n / 2) * 1_000).toISOString().replace('T', ' ').replace('Z', '');
      rows.push([
        userId(n),
        `user-${scrambled.toString().padStart(5, '0')}@deep.example`,
        `name ${Math.floor(scrambled / 10)}`,
        createdAt,
        createdAt,
      ]);
    }
    for (let i = 0; i < rows.length; i += 1_000) {
      const batch = rows.slice(i, i + 1_000);
      await dataSource.query(
        `INSERT INTO users (id, email, name, password_hash, roles, token_version, created_at, updated_at) VALUES ${batch.map(() => "(?, ?, ?, 'not-a-hash', ',user,', 0, ?, ?)").join(', ')}`,
        batch.flat(),
      );
    }
  }

  const page = (sort: string, dir: string, after?: string) =>
    t.request({
      method: 'GET',
      url: `/api/v1/users?orderBy=${sort}&orderDir=${dir}&limit=${PAGE}${after ? `&after=${encodeURIComponent(after)}` : ''}`,
      headers: bearer(admin.accessToken),
    });

  /** The ids of every page up to and including the one DEPTH rows deep, and that page's cursor. */
  async function walk(sort: string, dir: string): Promise<{ ids: string[]; cursor: string }> {
    const ids: string[] = [];
    let cursor: string | undefined;
    for (let depth = 0; depth < DEPTH; depth += PAGE) {
      const res = await page(sort, dir, cursor);
      expect(res.statusCode).toBe(200);
      ids.push(...json(res).data.map((user: { id: string }) => user.id));
      cursor = json(res).meta.cursor.next;
    }
    return { ids, cursor: cursor! };
  }

  for (const sort of SORTS) {
    for (const dir of DIRECTIONS) {
      it(`orderBy=${sort}&orderDir=${dir}: the walk matches the offset pages, each user once`, async () => {
        const { ids } = await walk(sort, dir);
        const offset: string[] = [];
        for (let n = 1; offset.length < DEPTH; n++) {
          const res = await t.request({
            method: 'GET',
            url: `/api/v1/users?orderBy=${sort}&orderDir=${dir}&page=${n}&pageSize=${PAGE}`,
            headers: bearer(admin.accessToken),
          });
          offset.push(...json(res).data.map((user: { id: string }) => user.id));
        }
        expect(ids).toEqual(offset.slice(0, DEPTH));
        expect(new Set(ids).size).toBe(DEPTH);
      });

      itMysql(`MariaDB/MySQL, orderBy=${sort}&orderDir=${dir}: the page ${DEPTH} deep reads what the first page does`, async () => {
        const { cursor } = await walk(sort, dir);
        const firstRead = await rowsRead(dataSource, async () => expect((await page(sort, dir)).statusCode).toBe(200));
        const deepRead = await rowsRead(dataSource, async () => expect((await page(sort, dir, cursor)).statusCode).toBe(200));
        expect(deepRead).toBeLessThanOrEqual(firstRead + 10);
        expect(deepRead).toBeLessThan(DEPTH / 10);
      });
    }
  }

  itSqlite('SQLite: every sort is a SEARCH of its index bounded by the cursor, never a scan or a sort', async () => {
    for (const sort of SORTS) {
      for (const dir of DIRECTIONS) {
        const { cursor } = await walk(sort, dir);
        const { sent } = await queriesDuring(dataSource, () => page(sort, dir, cursor));
        const select = sent.filter(([sql]) => /FROM "users"/.test(sql) && /LIMIT/.test(sql));
        expect(select).toHaveLength(1);
        const plan = await queryPlan(dataSource, select[0]![0], select[0]![1]);
        expect({ sort, dir, plan }).toEqual({
          sort,
          dir,
          plan: [expect.stringMatching(/^SEARCH user USING INDEX \w+ \((created_at|name|email)[<>]\?\)$/)],
        });
      }
    }
  });
});
