/**
 * Recognises database driver failures (mysql2, better-sqlite3, TypeORM) by their codes, so the
 * exception filter can answer 409 or 503 instead of 500 and log them without SQL or values.
 */

const DUPLICATE_KEY_CODES = new Set(['ER_DUP_ENTRY', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);

const UNAVAILABLE_CODES = new Set([
  // the server went away, refused us, or the pool gave up
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'POOL_CLOSED',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_QUERY_INTERRUPTED',
  // contention that survived the caller's retries
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  // a statement past DB_STATEMENT_TIMEOUT (MySQL 8's max_execution_time; MariaDB's 1969 has no name in mysql2)
  'ER_QUERY_TIMEOUT',
]);

/**
 * SQLite's primary codes of the same kind, and each of their extended codes: better-sqlite3
 * reports the extended one (`SQLITE_BUSY_SNAPSHOT`, `SQLITE_IOERR_WRITE`, …), never its primary.
 */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN)(_[A-Z]+)*$/;
/** Contention that a fresh attempt of the whole transaction gets past (`SQLITE_BUSY_SNAPSHOT`: its snapshot went stale). */
const SQLITE_CONTENDED = /^SQLITE_(BUSY|LOCKED)(_[A-Z]+)*$/;
const CONTENDED_CODES = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);
const CONTENDED_ERRNOS = new Set([1205, 1213]);

const UNAVAILABLE_ERRNOS = new Set([1040, 1053, 1205, 1213, 1969, 2002, 2003, 2006, 2013, 3024]);

/**
 * What the drivers throw, without a code, at a request that reaches the database after its pool
 * or connection was closed (a request still in flight while the process stops): mysql2's pool,
 * TypeORM's MySQL driver without a pool, better-sqlite3's closed handle. The database is
 * unavailable to this process: 503, not 500.
 */
const CLOSED_MESSAGES = [
  /^Pool is closed\.$/,
  /^Connection is not established with \w+ database$/,
  /^The database connection is not open$/,
];

interface DriverErrorShape {
  code?: unknown;
  errno?: unknown;
  sqlState?: unknown;
  name?: unknown;
  message?: unknown;
  driverError?: unknown;
}

/** The driver's own error: TypeORM wraps it as `driverError`. */
function driverErrorOf(error: unknown): DriverErrorShape | null {
  if (typeof error !== 'object' || error === null) return null;
  const shape = error as DriverErrorShape;
  if (typeof shape.driverError === 'object' && shape.driverError !== null) {
    return shape.driverError;
  }
  return shape;
}

export function isDuplicateKeyError(error: unknown): boolean {
  const driver = driverErrorOf(error);
  return driver !== null && (DUPLICATE_KEY_CODES.has(String(driver.code)) || driver.errno === 1062);
}

const FOREIGN_KEY_CODES = new Set(['ER_NO_REFERENCED_ROW_2', 'ER_ROW_IS_REFERENCED_2', 'SQLITE_CONSTRAINT_FOREIGNKEY']);
const TOO_LONG_CODES = new Set(['ER_DATA_TOO_LONG', 'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD', 'ER_WARN_DATA_OUT_OF_RANGE']);

/** A write that raced with a delete of the row it refers to (or of a row that refers to it). */
export function isForeignKeyError(error: unknown): boolean {
  const driver = driverErrorOf(error);
  return driver !== null && (FOREIGN_KEY_CODES.has(String(driver.code)) || driver.errno === 1451 || driver.errno === 1452);
}

/** A value the column cannot hold, which validation should have refused first. */
export function isValueTooLongError(error: unknown): boolean {
  const driver = driverErrorOf(error);
  return driver !== null && (TOO_LONG_CODES.has(String(driver.code)) || driver.errno === 1406);
}

/**
 * A transaction lost to another one (deadlock, lock-wait timeout, SQLite busy or locked): running
 * the whole transaction again may succeed.
 */
export function isContentionError(error: unknown): boolean {
  const driver = driverErrorOf(error);
  if (driver === null) return false;
  const code = typeof driver.code === 'string' ? driver.code : '';
  return (
    CONTENDED_CODES.has(code) || SQLITE_CONTENDED.test(code) || (typeof driver.errno === 'number' && CONTENDED_ERRNOS.has(driver.errno))
  );
}

export function isDatabaseUnavailableError(error: unknown): boolean {
  const driver = driverErrorOf(error);
  if (driver === null) return false;
  const code = typeof driver.code === 'string' ? driver.code : '';
  if (UNAVAILABLE_CODES.has(code) || SQLITE_UNAVAILABLE.test(code)) return true;
  if (typeof driver.errno === 'number' && UNAVAILABLE_ERRNOS.has(driver.errno)) return true;
  if (typeof driver.message === 'string' && CLOSED_MESSAGES.some((closed) => closed.test(driver.message as string))) return true;
  // TypeORM's own wording when a query needs a connection it does not have
  return (
    typeof (error as DriverErrorShape).name === 'string' &&
    ['ConnectionIsNotSetError', 'CannotConnectAlreadyConnectedError', 'ConnectionNotFoundError'].includes(
      (error as DriverErrorShape).name as string,
    )
  );
}

/** True when the error came from a database driver (it carries SQL or values: never log its message). */
export function isDriverError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const shape = error as DriverErrorShape;
  return shape.name === 'QueryFailedError' || 'driverError' in shape || typeof shape.sqlState === 'string';
}

/** What may be logged about a driver error: codes and where it was thrown, never SQL or parameters. */
export function describeDriverError(error: unknown): Record<string, unknown> {
  const driver = driverErrorOf(error) ?? {};
  const stack = error instanceof Error ? (error.stack ?? '').split('\n').slice(1).join('\n') : undefined;
  return {
    type: (error as DriverErrorShape).name,
    code: driver.code,
    errno: driver.errno,
    sqlState: driver.sqlState,
    stack,
  };
}
