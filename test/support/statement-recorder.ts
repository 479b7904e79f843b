import { DataSource } from 'typeorm';

export interface StatementRecorder {
  /** Every statement sent since the recorder was made (or cleared), in the order they went out. */
  statements(): string[];
  /**
   * Every transaction recorded, statement by statement: on MySQL/MariaDB all that its connection
   * sent while leased to it (what went out before `START TRANSACTION` or after `COMMIT` on that
   * lease included); on SQLite from `BEGIN` to `COMMIT`/`ROLLBACK` (one connection, which
   * `SqliteGate` gives to one transaction at a time).
   */
  transactions(): string[][];
  clear(): void;
  stop(): void;
}

interface PooledConnection {
  query: (...args: unknown[]) => unknown;
  execute: (...args: unknown[]) => unknown;
}

type GetConnection = (callback: (error: Error | null, connection?: PooledConnection) => void) => void;

interface Sent {
  /** Which lease of a connection sent it (MySQL); SQLite has one connection and no leases: always 0. */
  lease: number;
  sql: string;
}

const BEGINS = /^(START TRANSACTION|BEGIN)\b/i;
const ENDS = /^(COMMIT|ROLLBACK)\b/i;

/**
 * Records the statements the application sends. On MySQL/MariaDB at the driver: each connection
 * the pool hands out has its `query` and `execute` wrapped, so whatever goes out on it (TypeORM's
 * own statements included) is seen, with the lease it belongs to. On SQLite through TypeORM's
 * logger, which each query runner tells of every statement it runs (there is no pool, and nothing
 * else sends any).
 */
export function recordStatements(dataSource: DataSource): StatementRecorder {
  const sent: Sent[] = [];
  let stop: () => void;

  if (dataSource.options.type === 'mysql') {
    const pool = (dataSource.driver as unknown as { pool: { getConnection: GetConnection } }).pool;
    const getConnection = pool.getConnection;
    const leaseOf = new WeakMap<PooledConnection, number>();
    const restore: Array<() => void> = [];
    let leases = 0;
    const attach = (connection: PooledConnection) => {
      const wrapped = leaseOf.has(connection);
      leaseOf.set(connection, ++leases);
      if (wrapped) return;
      for (const method of ['query', 'execute'] as const) {
        const send = connection[method];
        connection[method] = function (this: unknown, ...args: unknown[]) {
          const sql = args[0];
          sent.push({ lease: leaseOf.get(connection)!, sql: typeof sql === 'string' ? sql : (sql as { sql: string }).sql });
          return send.apply(this, args);
        };
        restore.push(() => {
          connection[method] = send;
        });
      }
    };
    pool.getConnection = (callback) =>
      getConnection.call(pool, (error, connection) => {
        if (connection) attach(connection);
        callback(error, connection);
      });
    stop = () => {
      pool.getConnection = getConnection;
      restore.splice(0).forEach((undo) => undo());
    };
  } else {
    const logger = dataSource.logger;
    const logQuery = logger.logQuery;
    logger.logQuery = function (this: unknown, query: string, ...rest: unknown[]) {
      sent.push({ lease: 0, sql: query });
      return (logQuery as (...args: unknown[]) => unknown).call(this, query, ...rest);
    } as typeof logger.logQuery;
    stop = () => {
      logger.logQuery = logQuery;
    };
  }

  return {
    statements: () => sent.map(({ sql }) => sql),
    transactions() {
      if (dataSource.options.type === 'mysql') {
        const leases = new Set(sent.filter(({ sql }) => BEGINS.test(sql)).map(({ lease }) => lease));
        return [...leases].map((lease) => sent.filter((s) => s.lease === lease).map(({ sql }) => sql));
      }
      const found: string[][] = [];
      let open: string[] | null = null;
      for (const { sql } of sent) {
        if (BEGINS.test(sql)) open = [];
        if (!open) continue;
        open.push(sql);
        if (ENDS.test(sql)) {
          found.push(open);
          open = null;
        }
      }
      return found;
    },
    clear() {
      sent.length = 0;
    },
    stop: () => stop(),
  };
}
