import { Logger } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { ServiceUnavailableError } from '../errors/app-error';
import { waitFor } from '../../../test/support/wait-for';
import { UnitOfWork } from './unit-of-work';

/** UnitOfWork against a real (file) SQLite database: commits, rollbacks and hooks are the database's own. */
describe('UnitOfWork', () => {
  let dir: string;
  let dataSource: DataSource;
  let logged: jest.SpyInstance;

  const config = (statementSeconds = 10) => ({ dbTimeouts: { lockSeconds: 1, statementSeconds } });
  const count = async () => Number((await dataSource.query('SELECT COUNT(*) AS n FROM items'))[0].n);
  const insert = (uow: UnitOfWork, name: string, afterCommit?: () => unknown) =>
    uow.run(async (tx) => {
      await tx.manager.query('INSERT INTO items (name) VALUES (?)', [name]);
      if (afterCommit) tx.afterCommit(afterCommit);
      return name;
    });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'uow-'));
    dataSource = await new DataSource({ type: 'better-sqlite3', database: join(dir, 'db.sqlite') }).initialize();
    await dataSource.query('CREATE TABLE items (name TEXT NOT NULL)');
    logged = jest.spyOn(Logger.prototype, 'error');
  });

  afterEach(async () => {
    logged.mockRestore();
    await dataSource.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs after-commit hooks once, after the commit', async () => {
    const uow = new UnitOfWork(dataSource, config());
    const hook = jest.fn(count);
    await insert(uow, 'a', hook);
    expect(hook).toHaveBeenCalledTimes(1);
    await expect(hook.mock.results[0]!.value).resolves.toBe(1); // it saw the committed row
  });

  it('a hook throwing a deadlock-looking error neither re-runs nor fails the committed work', async () => {
    const uow = new UnitOfWork(dataSource, config());
    let runs = 0;
    const deadlock = Object.assign(new Error('Deadlock found'), { code: 'ER_LOCK_DEADLOCK', errno: 1213 });
    const result = await uow.run(async (tx) => {
      runs++;
      await tx.manager.query('INSERT INTO items (name) VALUES (?)', ['once']);
      tx.afterCommit(() => {
        throw deadlock;
      });
      return 'committed';
    });
    expect(result).toBe('committed');
    expect(runs).toBe(1);
    expect(await count()).toBe(1);
    expect(logged).toHaveBeenCalledTimes(1);
  });

  it('a hook throwing any other error does not turn the committed work into a failure; later hooks still run', async () => {
    const uow = new UnitOfWork(dataSource, config());
    const ran: string[] = [];
    await expect(
      uow.run(async (tx) => {
        await tx.manager.query('INSERT INTO items (name) VALUES (?)', ['x']);
        tx.afterCommit(() => {
          throw new TypeError('listener bug');
        });
        tx.afterCommit(() => void ran.push('second'));
        return 'ok';
      }),
    ).resolves.toBe('ok');
    expect(ran).toEqual(['second']);
    expect(await count()).toBe(1);
  });

  it('an async hook that rejects is logged, never an unhandled rejection; driver errors are logged by code, without SQL', async () => {
    const uow = new UnitOfWork(dataSource, config());
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    try {
      await insert(uow, 'y', () => dataSource.query('SELECT secret_column FROM no_such_table'));
      await waitFor(() => logged.mock.calls.length > 0, 5_000); // the hook is not awaited, by design
    } finally {
      process.off('unhandledRejection', unhandled);
    }
    expect(unhandled).not.toHaveBeenCalled();
    expect(logged).toHaveBeenCalledTimes(1);
    const line = JSON.stringify(logged.mock.calls[0]);
    expect(line).toContain('SQLITE_ERROR');
    expect(line).not.toContain('no_such_table');
    expect(line).not.toContain('secret_column');
    expect(await count()).toBe(1);
  });

  it.each([
    'SQLITE_BUSY',
    'SQLITE_BUSY_SNAPSHOT',
    'SQLITE_BUSY_RECOVERY',
    'SQLITE_LOCKED',
    'SQLITE_LOCKED_SHAREDCACHE',
    'ER_LOCK_DEADLOCK',
  ])('retries the whole run after contention (%s)', async (code) => {
    const uow = new UnitOfWork(dataSource, config());
    let attempts = 0;
    await uow.run(async (tx) => {
      await tx.manager.query('INSERT INTO items (name) VALUES (?)', [`attempt-${++attempts}`]);
      if (attempts === 1) throw Object.assign(new Error('contended'), { code });
    });
    expect(attempts).toBe(2);
    expect(await count()).toBe(1);
  });

  it('does not retry other failures', async () => {
    const uow = new UnitOfWork(dataSource, config());
    let attempts = 0;
    const failure = Object.assign(new Error('check'), { code: 'SQLITE_CONSTRAINT_CHECK' });
    await expect(
      uow.run(async (tx) => {
        attempts++;
        await tx.manager.query('INSERT INTO items (name) VALUES (?)', ['never']);
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(attempts).toBe(1);
    expect(await count()).toBe(0);
  });

  it('hooks of a rolled-back attempt never run; the retried attempt’s do', async () => {
    const uow = new UnitOfWork(dataSource, config());
    const ran: number[] = [];
    let attempt = 0;
    await uow.run(async (tx) => {
      const mine = ++attempt;
      await tx.manager.query('INSERT INTO items (name) VALUES (?)', [`attempt-${mine}`]);
      tx.afterCommit(() => void ran.push(mine));
      if (mine === 1) throw Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' });
    });
    expect(ran).toEqual([2]);
    expect(await count()).toBe(1);
  });

  it('a run still going past maxRunMs rolls back instead of committing (503), and its hooks never run', async () => {
    const uow = new UnitOfWork(dataSource, config(0.05)); // maxRunMs of a few hundred ms
    const hook = jest.fn();
    const slow = uow.run(async (tx) => {
      await tx.manager.query('INSERT INTO items (name) VALUES (?)', ['late']);
      tx.afterCommit(hook);
      await new Promise((resolve) => setTimeout(resolve, uow.maxRunMs + 50));
    });
    await expect(slow).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect(hook).not.toHaveBeenCalled();
    expect(await count()).toBe(0);
  });

  it('maxRunMs covers every attempt at the statement timeout plus the back-off', () => {
    expect(new UnitOfWork(dataSource, config(10)).maxRunMs).toBeGreaterThanOrEqual(6 * 10_000);
  });
});
