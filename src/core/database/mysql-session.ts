import type { Logger } from 'pino';
import type { AppConfig } from '../../config/app-config';
import { describeDriverError } from '../errors/driver-errors';

type Timeouts = AppConfig['dbTimeouts'];

interface PooledConnection {
  query(sql: string, callback: (error: Error | null) => void): unknown;
  destroy(): void;
}

type GetConnection = (callback: (error: Error | null, connection?: PooledConnection) => void) => void;

interface MysqlPool {
  on(event: 'connection', listener: (connection: PooledConnection) => void): unknown;
  getConnection: GetConnection;
  end(callback?: (error: Error | null) => void): void;
  config: { resetOnRelease?: boolean };
}

interface MysqlModule {
  createPool(options: unknown): MysqlPool;
}

/** Sessions in UTC whatever the server's default, so `CURRENT_TIMESTAMP` defaults are UTC too. */
export const UTC_SESSION_SQL = "SET SESSION time_zone = '+00:00'";

/**
 * A session's bounds as the server reports them: `statement` is MariaDB's `max_statement_time`
 * (seconds), `execution` MySQL 8's `max_execution_time` (milliseconds); each server reports only
 * its own.
 */
export interface SessionBounds {
  metadataLock: unknown;
  rowLock: unknown;
  statement?: unknown;
  execution?: unknown;
}

/** Reads a session's bounds (`SessionBounds`), each server its own statement bound. */
export const READ_BOUNDS_SQL =
  'SELECT @@SESSION.lock_wait_timeout AS metadataLock, @@SESSION.innodb_lock_wait_timeout AS rowLock' +
  ' /*M!100100 , @@SESSION.max_statement_time AS statement */ /*!80000 , @@SESSION.max_execution_time AS execution */';

/** The bounds of the service's sessions: `DB_LOCK_TIMEOUT` for every lock, `DB_STATEMENT_TIMEOUT` per statement. */
export function serviceBounds(timeouts: Timeouts): Required<SessionBounds> {
  const lock = Math.trunc(timeouts.lockSeconds);
  return {
    metadataLock: lock,
    rowLock: lock,
    statement: timeouts.statementSeconds,
    execution: Math.round(timeouts.statementSeconds * 1000),
  };
}

/**
 * The assignments of a session's bounds:
 * - `lock_wait_timeout` (metadata locks: `LOCK TABLES`, DDL; server default one year) and
 *   `innodb_lock_wait_timeout` (row locks; server default 50 s);
 * - the statement bound: MariaDB's `max_statement_time` (seconds, every statement) or MySQL 8's
 *   `max_execution_time` (milliseconds, SELECTs only). Each sits in an executable comment that
 *   only its own server runs: MySQL ignores MariaDB's `/*M!` comments, and MariaDB ignores MySQL
 *   5.7+ version comments such as `/*!80000` (checked at start by `verifySessionSettings`).
 */
function boundsAssignments(bounds: SessionBounds): string {
  const value = (v: unknown) => Number(v ?? 0);
  return (
    `lock_wait_timeout = ${value(bounds.metadataLock)}, innodb_lock_wait_timeout = ${value(bounds.rowLock)}` +
    ` /*M!100100 , max_statement_time = ${value(bounds.statement)} */ /*!80000 , max_execution_time = ${value(bounds.execution)} */`
  );
}

/** Sets a session's bounds (but not its time zone): the migrations lift them and put them back. */
export function sessionBoundsSql(bounds: SessionBounds): string {
  return `SET SESSION ${boundsAssignments(bounds)}`;
}

/**
 * The session every MySQL/MariaDB connection of this service runs with, set in one statement
 * when the pool opens the connection (never per transaction): UTC (so `CURRENT_TIMESTAMP`
 * defaults are UTC whatever the server's default) and the service's bounds (`serviceBounds`).
 */
export function sessionSettingsSql(timeouts: Timeouts): string {
  return `SET SESSION time_zone = '+00:00', ${boundsAssignments(serviceBounds(timeouts))}`;
}

/**
 * mysql2, whose pools run `sql` on each new connection and hand it out once that succeeded.
 * Given to TypeORM as its `driver`, so this is in place before TypeORM opens its first
 * connection. A connection whose set-up fails is dropped and its requester gets a lost-connection
 * error (503): nothing runs on a connection without its bounds.
 *
 * The session is set once per connection, so it must outlive each use: a pool that resets its
 * connections when they are released (mysql2's `resetOnRelease`, off by default in 3.x) would hand
 * them out again in the server's time zone and without any bound. Such a pool is refused.
 */
export function mysqlWithSessionSetup(mysql: MysqlModule, sql: string, log?: Logger): MysqlModule {
  return Object.create(mysql, {
    createPool: {
      value: (options: unknown) => {
        const pool = mysql.createPool(options);
        if (pool.config.resetOnRelease) {
          pool.end();
          throw new Error('The database pool must not reset connections on release (resetOnRelease): their session settings would be lost');
        }
        const setUp = new WeakMap<PooledConnection, Promise<Error | null>>();
        // emitted for a new connection before the pool hands it to whoever asked for it
        pool.on('connection', (connection) => setUp.set(connection, new Promise((resolve) => connection.query(sql, resolve))));
        const getConnection = pool.getConnection.bind(pool);
        pool.getConnection = (callback) =>
          getConnection((error, connection) => {
            const pending = connection && setUp.get(connection);
            if (error || !pending) return callback(error, connection);
            void pending.then((failure) => {
              if (!failure) {
                setUp.delete(connection);
                return callback(null, connection);
              }
              log?.error({ err: describeDriverError(failure) }, 'could not set up a database session; connection dropped');
              connection.destroy();
              callback(Object.assign(new Error('The database session could not be set up'), { code: 'PROTOCOL_CONNECTION_LOST' }));
            });
          });
        return pool;
      },
    },
  }) as MysqlModule;
}

/** Reads the settings back on a pooled connection, so a server that ignored them stops the start. */
export async function verifySessionSettings(query: (sql: string) => Promise<unknown>, timeouts: Timeouts): Promise<void> {
  const [row] = (await query(READ_BOUNDS_SQL)) as SessionBounds[];
  const want = serviceBounds(timeouts);
  // each server reports only its own statement bound
  const statementTaken =
    row?.statement !== undefined ? Number(row.statement) === want.statement : Number(row?.execution) === want.execution;
  if (Number(row?.metadataLock) !== want.metadataLock || Number(row?.rowLock) !== want.rowLock || !statementTaken) {
    throw new Error('The database session did not take DB_LOCK_TIMEOUT and DB_STATEMENT_TIMEOUT (see core/database/mysql-session.ts)');
  }
}
