import { INestApplicationContext } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Tx, UnitOfWork } from '../../src/core/database/unit-of-work';
import { DomainEvent } from '../../src/core/outbox/domain-event';
import { OutboxRelay } from '../../src/core/outbox/outbox-relay';
import { startDatabaseContext } from '../support/integration-context';
import { createIsolatedEnv, IsolatedEnv, target } from '../support/isolated-env';
import { waitFor } from '../support/wait-for';

/*
 * The outbox relay against the real database, without HTTP: a rolled-back transaction publishes
 * nothing, a committed one is delivered once, and two relays on one MariaDB deliver each row once.
 */
describe('outbox relay (integration)', () => {
  let env: IsolatedEnv;
  let one: INestApplicationContext;
  let two: INestApplicationContext | undefined;
  /**
   * A database subscriber: it writes in the delivery's transaction, into a table with no unique
   * key, so a delivery rolled back (a deadlock, retried) leaves nothing and every committed
   * delivery leaves one row. (In-memory calls may repeat: delivery is at least once.)
   */
  const record = (who: string) => async (event: DomainEvent, tx: Tx) => {
    await tx.manager.query('INSERT INTO probe_deliveries (event_id, relay) VALUES (?, ?)', [event.id, who]);
  };
  const deliveries = async () => {
    const rows = await one
      .get(DataSource)
      .query<Array<{ event_id: string; relay: string }>>('SELECT event_id, relay FROM probe_deliveries');
    const by = new Map<string, string[]>();
    for (const row of rows) by.set(row.event_id, [...(by.get(row.event_id) ?? []), row.relay]);
    return by;
  };

  beforeAll(async () => {
    env = await createIsolatedEnv();
    one = await startDatabaseContext(env);
    await one.get(DataSource).query('CREATE TABLE probe_deliveries (event_id VARCHAR(36) NOT NULL, relay VARCHAR(8) NOT NULL)');
    one.get(OutboxRelay).subscribe('probe.event', record('one'));
    if (target.mysql) {
      two = await startDatabaseContext(env);
      two.get(OutboxRelay).subscribe('probe.event', record('two'));
    }
  });

  afterAll(async () => {
    await two?.close();
    await one?.close();
    await env?.destroy();
  });

  const undelivered = async () =>
    Number(
      (
        await one.get(DataSource).query<Array<{ n: number | string }>>('SELECT COUNT(*) AS n FROM outbox_events WHERE delivered_at IS NULL')
      )[0]!.n,
    );

  it('delivers a committed event once and a rolled-back one never', async () => {
    const uow = one.get(UnitOfWork);
    let rolledBack: DomainEvent | undefined;
    await expect(
      uow.run(async (tx) => {
        rolledBack = await tx.publish({ type: 'probe.event', subjectType: 'probe', subjectId: null });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    const committed = await uow.run((tx) => tx.publish({ type: 'probe.event', subjectType: 'probe', subjectId: null }));
    await waitFor(async () => (await undelivered()) === 0, 5_000, 10);
    const delivered = await deliveries();
    expect(delivered.get(committed.id)).toHaveLength(1);
    expect(delivered.has(rolledBack!.id)).toBe(false);
  });

  (target.mysql ? it : it.skip)('two relays on one MariaDB deliver each row once (FOR UPDATE SKIP LOCKED)', async () => {
    // the ids of the attempts that committed (an attempt retried after a deadlock published nothing)
    const batches = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? two! : one).get(UnitOfWork).run(async (tx) => {
          const ids: string[] = [];
          for (let n = 0; n < 10; n++) ids.push((await tx.publish({ type: 'probe.event', subjectType: 'probe', subjectId: null })).id);
          return ids;
        }),
      ),
    );
    const published = batches.flat();
    // both relays drain at once, on top of their own nudged passes
    await Promise.all([
      one.get(OutboxRelay).drain(),
      two!.get(OutboxRelay).drain(),
      one.get(OutboxRelay).drain(),
      two!.get(OutboxRelay).drain(),
    ]);
    await waitFor(async () => (await undelivered()) === 0, 10_000, 10);
    const delivered = await deliveries();
    expect(published.filter((id) => delivered.get(id)?.length !== 1)).toEqual([]);
    const by = (who: string) => published.filter((id) => delivered.get(id)?.[0] === who).length;
    expect(by('one') + by('two')).toBe(200);
  });
});
