import { BadRequestException, HttpException, NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import { QueryFailedError, TypeORMError } from 'typeorm';
import { ConflictError, ValidationError } from './app-error';
import { toAppError } from './to-app-error';

function driverFailure(driverError: Record<string, unknown>): QueryFailedError {
  return new QueryFailedError('INSERT INTO users VALUES (?)', ['secret@example.com'], Object.assign(new Error('boom'), driverError));
}

describe('toAppError', () => {
  it('returns AppErrors as they are', () => {
    const error = new ValidationError({ name: ['too short'] });
    expect(toAppError(error)).toBe(error);
  });

  it.each([[{ code: 'ER_DUP_ENTRY', errno: 1062 }], [{ code: 'SQLITE_CONSTRAINT_UNIQUE' }], [{ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' }]])(
    'maps a duplicate key (%j) to 409 CONFLICT without driver text',
    (driverError) => {
      const mapped = toAppError(driverFailure(driverError));
      expect(mapped).toBeInstanceOf(ConflictError);
      expect(mapped.message).not.toMatch(/INSERT|secret/);
    },
  );

  it.each([
    [{ code: 'ECONNREFUSED' }],
    [{ code: 'PROTOCOL_CONNECTION_LOST' }],
    [{ code: 'ER_LOCK_DEADLOCK', errno: 1213 }],
    [{ code: 'ER_LOCK_WAIT_TIMEOUT', errno: 1205 }],
    [{ errno: 2013 }],
    [{ code: 'SQLITE_BUSY' }],
    [{ code: 'SQLITE_IOERR_WRITE' }],
    // better-sqlite3 reports SQLite's extended codes: a stale snapshot (another process committed), busy recovery, …
    [{ code: 'SQLITE_BUSY_SNAPSHOT' }],
    [{ code: 'SQLITE_BUSY_RECOVERY' }],
    [{ code: 'SQLITE_BUSY_TIMEOUT' }],
    [{ code: 'SQLITE_LOCKED_SHAREDCACHE' }],
    [{ code: 'SQLITE_CANTOPEN_ISDIR' }],
  ])('maps a lost or contended database (%j) to 503', (driverError) => {
    expect(toAppError(driverFailure(driverError))).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
  });

  it.each([
    // mysql2's pool, TypeORM's MySQL driver and better-sqlite3 once closed (a request still in flight at shutdown)
    [new Error('Pool is closed.')],
    [new TypeORMError('Connection is not established with mysql database')],
    [new TypeError('The database connection is not open')],
  ])('maps a database closed under a request (%s) to 503', (error) => {
    expect(toAppError(error)).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
  });

  it('does not take any error mentioning a pool for a closed database', () => {
    expect(toAppError(new Error('Pool is closed. Also: something else'))).toMatchObject({ status: 500 });
  });

  it.each([[{ code: 'SQLITE_CONSTRAINT_CHECK' }], [{ code: 'SQLITE_BUSYNESS' }], [{ code: 'SQLITE_ERROR' }]])(
    'does not take other SQLite codes (%j) for an unavailable database',
    (driverError) => {
      expect(toAppError(driverFailure(driverError))).toMatchObject({ status: 500, code: 'INTERNAL_ERROR' });
    },
  );

  it('maps an unclassified driver error to a generic 500', () => {
    expect(toAppError(driverFailure({ code: 'ER_PARSE_ERROR' }))).toMatchObject({
      status: 500,
      code: 'INTERNAL_ERROR',
      message: 'An unexpected error occurred',
    });
  });

  it.each([
    ['FST_ERR_CTP_BODY_TOO_LARGE', 413, 'PAYLOAD_TOO_LARGE'],
    ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['FST_ERR_CTP_INVALID_JSON_BODY', 400, 'BAD_REQUEST'],
    ['FST_ERR_CTP_EMPTY_JSON_BODY', 400, 'BAD_REQUEST'],
  ])('maps Fastify %s to %i %s', (code, status, appCode) => {
    expect(toAppError(Object.assign(new Error('x'), { code, statusCode: status }))).toMatchObject({ status, code: appCode });
  });

  it.each([
    [new BadRequestException('nope'), 400, 'BAD_REQUEST'],
    [new NotFoundException(), 404, 'NOT_FOUND'],
    [new PayloadTooLargeException(), 413, 'PAYLOAD_TOO_LARGE'],
    [new HttpException('slow down', 429), 429, 'RATE_LIMITED'],
    [new HttpException('teapot', 418), 418, 'BAD_REQUEST'],
    [new HttpException('method', 405), 405, 'METHOD_NOT_ALLOWED'],
    [new HttpException('internal detail', 502), 500, 'INTERNAL_ERROR'],
  ])('maps Nest %p to %i %s', (exception, status, code) => {
    expect(toAppError(exception)).toMatchObject({ status, code });
  });

  it('maps a Fastify error that Nest wrapped as an HttpException by its code, not its wording', () => {
    const cause = Object.assign(new Error("Body is not valid JSON but content-type is set to 'application/json'"), {
      code: 'FST_ERR_CTP_INVALID_JSON_BODY',
      statusCode: 400,
    });
    expect(toAppError(new HttpException(cause.message, 400, { cause }))).toMatchObject({
      status: 400,
      code: 'BAD_REQUEST',
      message: 'The request body is not valid JSON',
    });
  });

  it('hides the text of anything unexpected', () => {
    const mapped = toAppError(new TypeError('cannot read secretThing of undefined'));
    expect(mapped).toMatchObject({ status: 500, code: 'INTERNAL_ERROR', message: 'An unexpected error occurred' });
  });
});
