import { DataSource } from 'typeorm';

/** The statements (with their parameters) TypeORM ran during `work`, as its logger is told of them (SQLite). */
export async function queriesDuring<T>(
  dataSource: DataSource,
  work: () => Promise<T>,
): Promise<{ result: T; sent: Array<[string, unknown[]]> }> {
  const sent: Array<[string, unknown[]]> = [];
  const spy = jest
    .spyOn(dataSource.logger, 'logQuery')
    .mockImplementation((query, parameters) => void sent.push([query, (parameters as unknown[]) ?? []]));
  try {
    return { result: await work(), sent };
  } finally {
    spy.mockRestore();
  }
}

/** SQLite's plan of a statement, one line per step (`EXPLAIN QUERY PLAN`). */
export async function queryPlan(dataSource: DataSource, sql: string, parameters: unknown[]): Promise<string[]> {
  return (await dataSource.query<Array<{ detail: string }>>(`EXPLAIN QUERY PLAN ${sql}`, parameters)).map((row) => row.detail);
}

/**
 * Rows MariaDB/MySQL read (the sum of the session's `Handler_read_*` counters) while `work` ran,
 * less what reading the counters itself reads. Run the app with `DB_POOL_SIZE=1`, so the session
 * counted is the one the work's statements go out on.
 */
export async function rowsRead(dataSource: DataSource, work: () => Promise<unknown>): Promise<number> {
  const counters = async () => {
    const rows = await dataSource.query<Array<{ Value: string }>>("SHOW SESSION STATUS LIKE 'Handler_read%'");
    return rows.reduce((sum, row) => sum + Number(row.Value), 0);
  };
  const start = await counters();
  const before = await counters();
  await work();
  const after = await counters();
  return after - before - (before - start);
}
