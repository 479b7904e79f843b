import { Injectable, Module } from '@nestjs/common';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { Tx, UnitOfWork } from '../../src/core/database/unit-of-work';
import { requestContext } from '../../src/core/http/request-context';
import { DomainEvent } from '../../src/core/outbox/domain-event';
import { OnOutboxEvent } from '../../src/core/outbox/on-outbox-event.decorator';
import { Outbox } from '../../src/core/outbox/outbox';
import { OutboxRelay } from '../../src/core/outbox/outbox-relay';
import { createIsolatedEnv, IsolatedEnv } from '../support/isolated-env';
import { startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/** A subscriber found by its decorator; it fails once for subject `flaky`, and writes nothing itself. */
@Injectable()
class Recorder {
  readonly seen: DomainEvent[] = [];
  readonly calls: string[] = [];
  /** The request id of the async context each subject was delivered in (null: none). */
  readonly contexts = new Map<string, string | null>();
  private failedOnce = false;

  @OnOutboxEvent('probe.happened', 'probe.other')
  on(event: DomainEvent, tx: Tx): Promise<void> {
    this.calls.push(event.subjectId ?? '');
    this.contexts.set(event.subjectId ?? '', requestContext.getStore()?.requestId ?? null);
    if (!tx.manager) throw new Error('no transaction');
    if (event.subjectId === 'flaky' && !this.failedOnce) {
      this.failedOnce = true;
      return Promise.reject(new Error('subscriber down'));
    }
    this.seen.push(event);
    return Promise.resolve();
  }
}

@Module({ providers: [Recorder] })
class RecorderModule {}

describe('transactional outbox', () => {
  let env: IsolatedEnv;
  let t: TestApp;
  let uow: UnitOfWork;
  let recorder: Recorder;
  let relay: OutboxRelay;
  let dataSource: DataSource;
  const seenFor = (subject: string) => recorder.seen.filter((event) => event.subjectId === subject);
  const rowsFor = async (subject: string) =>
    (await dataSource.query<Array<{ payload: string }>>('SELECT payload FROM outbox_events')).filter(
      (row) => (JSON.parse(row.payload) as DomainEvent).subjectId === subject,
    ).length;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    t = await startTestApp(env, { extraModules: [RecorderModule] });
    uow = t.app.get(UnitOfWork);
    recorder = t.app.get(Recorder);
    relay = t.app.get(OutboxRelay);
    dataSource = t.app.get(DataSource);
  });

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  it('delivers an event whose transaction committed, once; one whose transaction rolled back, never', async () => {
    await expect(
      uow.run(async (tx) => {
        await tx.publish({ type: 'probe.happened', subjectType: 'probe', subjectId: 'rolled-back' });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    const published = await uow.run((tx) =>
      tx.publish({ type: 'probe.happened', subjectType: 'probe', subjectId: 'committed', data: { n: 1 }, actorId: 'someone' }),
    );

    await waitFor(() => seenFor('committed').length > 0, 2_000, 20); // nudged after the commit: well within 2 s
    await relay.drain();
    await relay.drain();
    expect(seenFor('committed')).toEqual([published]);
    expect(published).toMatchObject({ actorId: 'someone', requestId: null, data: { n: 1 } });
    expect(seenFor('rolled-back')).toEqual([]);
    expect(await rowsFor('rolled-back')).toBe(0);
    expect(await rowsFor('committed')).toBe(1);
  });

  it('publishes a stand-alone event in its own transaction, in order with others', async () => {
    const first = await t.app.get(Outbox).publish({ type: 'probe.other', subjectType: 'probe', subjectId: 'alone-1' });
    const second = await t.app.get(Outbox).publish({ type: 'probe.other', subjectType: 'probe', subjectId: 'alone-2' });
    await waitFor(() => seenFor('alone-2').length > 0, 2_000, 20);
    const order = recorder.seen.map((event) => event.id);
    expect(order.indexOf(first.id)).toBeLessThan(order.indexOf(second.id));
  });

  it('delivers outside the context of the request whose commit nudged the relay (its logger, its cache memo)', async () => {
    const published = await requestContext.run({ requestId: 'nudging-request', log: pino({ enabled: false }) }, () =>
      uow.run((tx) => tx.publish({ type: 'probe.happened', subjectType: 'probe', subjectId: 'in-context' })),
    );
    expect(published.requestId).toBe('nudging-request'); // the event itself carries it
    await waitFor(() => seenFor('in-context').length > 0, 10_000, 20);
    expect(recorder.contexts.get('in-context')).toBeNull();
  });

  it('retries a batch whose subscriber threw, and marks nothing delivered until it succeeds', async () => {
    await uow.run((tx) => tx.publish({ type: 'probe.happened', subjectType: 'probe', subjectId: 'flaky' }));
    // The subscriber sees the event inside the delivery transaction, before that transaction marks the row delivered and
    // commits; so wait for the committed mark, not for the subscriber.
    const deliveredAt = async () =>
      (
        await dataSource.query<Array<{ delivered_at: unknown }>>(
          'SELECT delivered_at FROM outbox_events WHERE type = ? ORDER BY id DESC LIMIT 1',
          ['probe.happened'],
        )
      )[0]?.delivered_at ?? null;
    await waitFor(async () => (await deliveredAt()) !== null, 10_000, 20);
    expect(recorder.calls.filter((subject) => subject === 'flaky')).toHaveLength(2);
    expect(seenFor('flaky')).toHaveLength(1);
  });
});
