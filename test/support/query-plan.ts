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
