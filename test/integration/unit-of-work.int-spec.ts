import { INestApplicationContext } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { UnitOfWork } from '../../src/core/database/unit-of-work';
import { startDatabaseContext } from '../support/integration-context';
import { createIsolatedEnv, IsolatedEnv, target } from '../support/isolated-env';

/*
 * The unit of work's retry on a real deadlock (MariaDB): two transactions lock two rows in
 * opposite orders, each waiting for the other; InnoDB kills one (ER_LOCK_DEADLOCK), the unit of
 * work runs it again, and both commit. A retried attempt's events vanish with it.
 */
(target.mysql ? describe : describe.skip)('unit of work (integration, MariaDB)', () => {
  let env: IsolatedEnv;
  let context: INestApplicationContext;
  let dataSource: DataSource;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    context = await startDatabaseContext(env);
    dataSource = context.get(DataSource);
    await dataSource.query('CREATE TABLE probe_rows (id INT PRIMARY KEY, n INT NOT NULL) ENGINE=InnoDB');
    await dataSource.query('INSERT INTO probe_rows VALUES (1, 0), (2, 0)');
  });

  afterAll(async () => {
    await context?.close();
    await env?.destroy();
  });

  it('retries the loser of a deadlock; both commit, its rolled-back attempt publishes nothing', async () => {
    const uow = context.get(UnitOfWork);
    let attempts = 0;
    let bothHoldOne!: () => void;
    const barrier = new Promise<void>((resolve) => (bothHoldOne = resolve));
    let holding = 0;
    const run = (first: number, second: number) =>
      uow.run(async (tx) => {
        attempts++;
        await tx.publish({ type: 'probe.deadlock', subjectType: 'probe', subjectId: String(first) });
        await tx.manager.query('UPDATE probe_rows SET n = n + 1 WHERE id = ?', [first]);
        if (++holding === 2) bothHoldOne();
        await barrier; // each holds its first row before asking for the other's
        await tx.manager.query('UPDATE probe_rows SET n = n + 1 WHERE id = ?', [second]);
      });
    await Promise.all([run(1, 2), run(2, 1)]);
    expect(attempts).toBe(3); // one of the two ran twice
    const rows = await dataSource.query<Array<{ n: number }>>('SELECT n FROM probe_rows ORDER BY id');
    expect(rows.map((row) => Number(row.n))).toEqual([2, 2]);
    const events = await dataSource.query<unknown[]>("SELECT id FROM outbox_events WHERE type = 'probe.deadlock'");
    expect(events).toHaveLength(2); // the killed attempt's event rolled back with it
  });
});
