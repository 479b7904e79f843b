import type { QueryRunner } from 'typeorm';
import { MIGRATION_BOUNDS_SQL, withMigrationBounds } from './migration-lock';
import { sessionBoundsSql, sessionSettingsSql } from './mysql-session';

/**
 * `variable → value` of a SET statement, each keyed by the executable comment it sits in
 * (`M!100100`: MariaDB only; `!80000`: MySQL 8 only; none: both), so a bound that only one
 * server runs is told apart. Only MariaDB runs in the e2e tests: MySQL 8's bounds are checked here.
 */
function assignments(sql: string): Record<string, string> {
  const found: Record<string, string> = {};
  const add = (scope: string, part: string) => {
    for (const [, name, value] of part.matchAll(/(\w+)\s*=\s*('[^']*'|[\w.]+)/g)) found[`${scope}${name}`] = value!;
  };
  const plain = sql.replace(/\/\*(M?!\d+)(.*?)\*\//g, (_match, scope: string, part: string) => {
    add(`${scope}:`, part);
    return '';
  });
  add('', plain);
  return found;
}

describe('the migrations’ session bounds', () => {
  const service = assignments(sessionSettingsSql({ lockSeconds: 3, statementSeconds: 7 }));
  delete service.time_zone;

  it('lift every bound the service sets on its sessions, on MariaDB and on MySQL 8: 120 s for a lock, no statement bound', () => {
    expect(Object.keys(service).sort()).toEqual([
      '!80000:max_execution_time',
      'M!100100:max_statement_time',
      'innodb_lock_wait_timeout',
      'lock_wait_timeout',
    ]);
    expect(assignments(MIGRATION_BOUNDS_SQL)).toEqual({
      lock_wait_timeout: '120',
      innodb_lock_wait_timeout: '120',
      'M!100100:max_statement_time': '0',
      '!80000:max_execution_time': '0',
    });
  });

  it('are put back as they were read, every one of them', () => {
    const restore = assignments(sessionBoundsSql({ metadataLock: 3, rowLock: 3, statement: 7, execution: 7000 }));
    expect(restore).toEqual(service);
  });
});

describe('withMigrationBounds', () => {
  const saved = { metadataLock: 3, rowLock: 3, statement: 7, execution: null };

  /** A query runner whose connection answers the read of the bounds and fails `failing` statements. */
  function runner(failing: (sql: string) => boolean) {
    const destroy = jest.fn();
    const sent: string[] = [];
    const fake = {
      databaseConnection: { destroy },
      query: (sql: string) => {
        sent.push(sql);
        if (failing(sql)) return Promise.reject(Object.assign(new Error('lost'), { code: 'PROTOCOL_CONNECTION_LOST' }));
        return Promise.resolve(sql.startsWith('SELECT') ? [saved] : []);
      },
    };
    return { runner: fake as unknown as QueryRunner, destroy, sent };
  }

  it('lifts the bounds before the work and puts back what it read after it, even when the work fails', async () => {
    const { runner: r, destroy, sent } = runner(() => false);
    await expect(withMigrationBounds(r, () => Promise.reject(new Error('migration failed')))).rejects.toThrow('migration failed');
    expect(sent.slice(1)).toEqual([MIGRATION_BOUNDS_SQL, sessionBoundsSql(saved)]);
    expect(destroy).not.toHaveBeenCalled();
  });

  it('closes a connection whose bounds could not be put back: the pool never hands it out without them', async () => {
    const restore = sessionBoundsSql(saved);
    const { runner: r, destroy } = runner((sql) => sql === restore);
    await expect(withMigrationBounds(r, () => Promise.resolve('migrated'))).resolves.toBe('migrated');
    expect(destroy).toHaveBeenCalledTimes(1);
  });
});
