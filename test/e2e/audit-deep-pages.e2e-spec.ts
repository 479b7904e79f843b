import { DataSource } from 'typeorm';
import { queriesDuring, queryPlan, rowsRead } from '../support/query-plan';
import { uuidv7Floor } from '../../src/core/outbox/domain-event';
import { AuditFilter, AuditRepository } from '../../src/modules/audit/audit.repository';
import { createIsolatedEnv, IsolatedEnv, target } from '../support/isolated-env';
import { startTestApp, TestApp } from '../support/test-app';

/*
 * Every audit list query seeks to its cursor: the unfiltered list walks the primary key, each
 * filter its (column, id) index, a time range is an id range. Timing cannot show that reliably;
 * the rows the server reads can. ROWS events go straight into the table, and the rows read for a
 * page deep in each list (MariaDB's session counters `Handler_read_*`, on the instance's one
 * connection) must be those of its first page. On SQLite the plan is checked instead.
 */
const ROWS = 20_000;
const PAGE = 100;
const BASE_MS = 0x019000000000; // 2024: older than anything the service records
const TYPES = ['probe.alpha', 'probe.beta', 'probe.gamma'];
const ACTORS = ['01900000-0000-7000-8000-00000000a000', '01900000-0000-7000-8000-00000000a001', '01900000-0000-7000-8000-00000000a002'];
const SUBJECTS = ['01900000-0000-7000-8000-00000000b000', '01900000-0000-7000-8000-00000000b001'];

/** A UUIDv7-shaped id made at BASE_MS + n. */
function eventId(n: number): string {
  const hex = (BASE_MS + n).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-${n.toString(16).padStart(12, '0')}`;
}

const FILTERS: Array<[string, AuditFilter]> = [
  ['no filter', {}],
  ['type', { type: TYPES[0] }],
  ['actorId', { actorId: ACTORS[1] }],
  ['subjectId', { subjectId: SUBJECTS[0] }],
  ['since + until', { fromId: uuidv7Floor(BASE_MS + 1_000), toId: uuidv7Floor(BASE_MS + ROWS - 1_000) }],
  ['type + since', { type: TYPES[2], fromId: uuidv7Floor(BASE_MS + 3_000) }],
];

const itMysql = target.mysql ? it : it.skip;
const itSqlite = target.mysql ? it.skip : it;

describe('audit events: a deep page reads no more rows than the first', () => {
  let env: IsolatedEnv;
  let t: TestApp;
  let dataSource: DataSource;
  let audit: AuditRepository;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    // one connection (MySQL): the session counters read around a page are that page's
    t = await startTestApp(env, { env: { DB_POOL_SIZE: '1' } });
    dataSource = t.app.get(DataSource);
    audit = t.app.get(AuditRepository);
    const rows: unknown[][] = [];
    for (let n = 0; n < ROWS; n++) {
      rows.push([eventId(n), TYPES[n % TYPES.length], ACTORS[n % ACTORS.length], SUBJECTS[n % SUBJECTS.length]]);
    }
    for (let i = 0; i < rows.length; i += 1_000) {
      const batch = rows.slice(i, i + 1_000);
      await dataSource.query(
        `INSERT INTO audit_events (id, type, occurred_at, actor_id, subject_type, subject_id, request_id, data) VALUES ${batch
          .map(() => "(?, ?, '2024-06-01 00:00:00.000', ?, 'user', ?, NULL, '{}')")
          .join(', ')}`,
        batch.flat(),
      );
    }
    if (target.mysql) await dataSource.query('ANALYZE TABLE audit_events');
  });

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  /** The ids a filter selects, newest first, by a plain query (no index named). */
  async function expectedIds(filter: AuditFilter): Promise<string[]> {
    const rows = await dataSource.query<Array<{ id: string }>>('SELECT id, type, actor_id, subject_id FROM audit_events ORDER BY id DESC');
    return (rows as Array<{ id: string; type: string; actor_id: string | null; subject_id: string | null }>)
      .filter(
        (row) =>
          (filter.type === undefined || row.type === filter.type) &&
          (filter.actorId === undefined || row.actor_id === filter.actorId) &&
          (filter.subjectId === undefined || row.subject_id === filter.subjectId) &&
          (filter.fromId === undefined || row.id >= filter.fromId) &&
          (filter.toId === undefined || row.id < filter.toId),
      )
      .map((row) => row.id);
  }

  itMysql.each(FILTERS)('MariaDB/MySQL, %s: the page half-way down reads what the first page does', async (_, filter) => {
    const expected = await expectedIds(filter);
    expect(expected.length).toBeGreaterThan(PAGE * 20);
    const depth = Math.floor(expected.length / 2);
    let first: string[] = [];
    let deep: string[] = [];
    const firstRead = await rowsRead(dataSource, async () => (first = (await audit.list(filter, null, PAGE + 1)).map((e) => e.id)));
    const deepRead = await rowsRead(
      dataSource,
      async () => (deep = (await audit.list(filter, expected[depth - 1]!, PAGE + 1)).map((e) => e.id)),
    );
    expect(first).toEqual(expected.slice(0, PAGE + 1));
    expect(deep).toEqual(expected.slice(depth, depth + PAGE + 1));
    expect(deepRead).toBeLessThanOrEqual(firstRead + 10);
    expect(deepRead).toBeLessThan(depth / 10);
  });

  itSqlite.each(FILTERS)('SQLite, %s: the page is a SEARCH bounded by the cursor, never a SCAN', async (_, filter) => {
    const expected = await expectedIds(filter);
    const depth = Math.floor(expected.length / 2);
    const { result, sent } = await queriesDuring(dataSource, () => audit.list(filter, expected[depth - 1]!, PAGE + 1));
    expect(result.map((e) => e.id)).toEqual(expected.slice(depth, depth + PAGE + 1));
    const [sql, parameters] = sent.find(([q]) => /FROM audit_events/.test(q))!;
    const plan = await queryPlan(dataSource, sql, parameters);
    expect(plan.filter((step) => /^SCAN audit_events\b/.test(step))).toEqual([]);
    expect(plan.join('\n')).toMatch(/SEARCH audit_events USING .*\bid<\?/);
  });
});
