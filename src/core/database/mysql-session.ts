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
 * The session every MySQL/MariaDB connection of this service runs with, set in one statement
 * when the pool opens the connection (never per transaction):
 * - `time_zone` UTC, so `CURRENT_TIMESTAMP` defaults are UTC whatever the server's default;
 * - `lock_wait_timeout` (metadata locks: `LOCK TABLES`, DDL; server default one year) and
 *   `innodb_lock_wait_timeout` (row locks; server default 50 s) at `DB_LOCK_TIMEOUT`;
 * - the statement bound at `DB_STATEMENT_TIMEOUT`: MariaDB's `max_statement_time` (seconds,
 *   every statement) or MySQL 8's `max_execution_time` (milliseconds, SELECTs only). Each sits
 *   in an executable comment that only its own server runs: MySQL ignores MariaDB's `/*M!`
 *   comments, and MariaDB ignores MySQL 5.7+ version comments such as `/*!80000` (checked at
 *   start by `verifySessionSettings`).
 */
export function sessionSettingsSql(timeouts: Timeouts): string {
  const lock = Math.trunc(timeouts.lockSeconds);
  const statement = timeouts.statementSeconds;
  return (
    `SET SESSION time_zone = '+00:00', lock_wait_timeout = ${lock}, innodb_lock_wait_timeout = ${lock}` +
    ` /*M!100100 , max_statement_time = ${statement} */ /*!80000 , max_execution_time = ${Math.round(statement * 1000)} */`
  );
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
  const rows = (await query(
    'SELECT @@SESSION.lock_wait_timeout AS metadataLock, @@SESSION.innodb_lock_wait_timeout AS rowLock' +
      ' /*M!100100 , @@SESSION.max_statement_time AS statement */ /*!80000 , @@SESSION.max_execution_time / 1000 AS statement */',
  )) as Array<Record<'metadataLock' | 'rowLock' | 'statement', unknown>>;
  const row = rows[0];
  const lock = Math.trunc(timeouts.lockSeconds);
  if (Number(row?.metadataLock) !== lock || Number(row?.rowLock) !== lock || Number(row?.statement) !== timeouts.statementSeconds) {
    throw new Error('The database session did not take DB_LOCK_TIMEOUT and DB_STATEMENT_TIMEOUT (see core/database/mysql-session.ts)');
  }
}
