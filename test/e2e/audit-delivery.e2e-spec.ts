import { Injectable, Module } from '@nestjs/common';
import { createClient } from '@redis/client';
import { DataSource } from 'typeorm';
import { DomainEvent } from '../../src/core/outbox/domain-event';
import { Tx } from '../../src/core/database/unit-of-work';
import { OnOutboxEvent } from '../../src/core/outbox/on-outbox-event.decorator';
import { ACCOUNT_EVENT_TYPES } from '../../src/modules/accounts';
import { AUTH_EVENT_TYPES } from '../../src/modules/auth';
import { USER_EVENT_TYPES } from '../../src/modules/users';
import { auditEvents } from '../support/audit';
import { ADMIN_ENV, adminSession, Session, signUp } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv, target } from '../support/isolated-env';
import { deposit, openAccount, transfer } from '../support/money';
import { outboxSettled } from '../support/outbox';
import { TcpProxy } from '../support/tcp-proxy';
import { startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/**
 * A database subscriber in each instance: one row per delivery, written in the delivery's
 * transaction into a table with no unique key. A delivery rolled back leaves nothing, so the rows
 * are the committed deliveries: exactly one per event, whichever instance made it.
 */
@Injectable()
class DeliveryCounter {
  static instances = 0;
  private readonly name = `i${DeliveryCounter.instances++}`;

  @OnOutboxEvent(...USER_EVENT_TYPES, ...AUTH_EVENT_TYPES, ...ACCOUNT_EVENT_TYPES)
  async count(event: DomainEvent, tx: Tx): Promise<void> {
    await tx.manager.query('INSERT INTO probe_deliveries (event_id, instance) VALUES (?, ?)', [event.id, this.name]);
  }
}

@Module({ providers: [DeliveryCounter] })
class DeliveryCounterModule {}

/*
 * Two instances on one MariaDB and one Redis: each event reaches a subscriber once (the relay's
 * FOR UPDATE SKIP LOCKED) and is recorded once; the Redis stream holds every event once.
 */
describe('audit delivery: two instances, the Redis stream', () => {
  let env: IsolatedEnv;
  let a: TestApp;
  let b: TestApp | undefined;
  let admin: Session;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    a = await startTestApp(env, { env: ADMIN_ENV, extraModules: [DeliveryCounterModule] });
    // until it exists the counter throws and the relay retries (with back-off): nothing is lost meanwhile
    await a.app.get(DataSource).query('CREATE TABLE probe_deliveries (event_id VARCHAR(36) NOT NULL, instance VARCHAR(8) NOT NULL)');
    // SQLite is one instance (SqliteGate): the second instance only where the database is a server
    if (target.mysql) b = await startTestApp(env, { env: ADMIN_ENV, extraModules: [DeliveryCounterModule] });
    admin = await adminSession(a);
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
    await env?.destroy();
  });

  /** A burst of requests spread over the instances: users, logins, accounts, deposits, transfers. */
  async function burst(instances: TestApp[]): Promise<void> {
    await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const t = instances[i % instances.length]!;
        const owner = await signUp(t);
        const mine = await openAccount(t, owner);
        const theirs = await openAccount(t, owner);
        await deposit(t, admin, mine, 100);
        await Promise.all(Array.from({ length: 5 }, () => transfer(t, owner, { fromAccountId: mine, toAccountId: theirs, amount: 1 })));
      }),
    );
  }

  (target.mysql ? it : it.skip)('two instances: each event delivered to a subscriber once, recorded once', async () => {
    await burst([a, b!]);
    await outboxSettled(a);
    const ids = (await a.app.get(DataSource).query<Array<{ id: string }>>('SELECT id FROM outbox_events')).map((row) => row.id);
    expect(ids.length).toBeGreaterThan(60);
    const rows = await a.app
      .get(DataSource)
      .query<Array<{ event_id: string; instance: string }>>('SELECT event_id, instance FROM probe_deliveries');
    const times = new Map<string, number>();
    for (const row of rows) times.set(row.event_id, (times.get(row.event_id) ?? 0) + 1);
    expect(ids.filter((id) => times.get(id) !== 1)).toEqual([]);
    expect(new Set(rows.map((row) => row.instance)).size).toBe(2); // both relays took part
    const recorded = (await auditEvents(a, admin)).map((event) => event.id).sort();
    expect(recorded).toEqual([...ids].sort());
  });

  (target.redisUrl ? it : it.skip)('the Redis stream holds each event, with its id, type and JSON', async () => {
    await burst(b ? [a, b] : [a]);
    await outboxSettled(a);
    const redis = createClient({ url: target.redisUrl! });
    await redis.connect();
    try {
      const entries = await redis.xRange(`${env.redisKeyPrefix}events`, '-', '+');
      const streamed = entries.map((entry) => entry.message);
      const recorded = await auditEvents(a, admin);
      // at least once (an append whose pass rolled back is appended again): consumers dedupe by id
      expect([...new Set(streamed.map((m) => m.id))].sort()).toEqual(recorded.map((e) => e.id).sort());
      for (const message of streamed) {
        const event = JSON.parse(message.event!) as DomainEvent;
        expect(event).toMatchObject({ id: message.id, type: message.type });
      }
    } finally {
      await redis.quit();
    }
  });
});

/*
 * Redis down: the audit trail does not wait for it (delivery marks the rows delivered only), and
 * the stream catches up once Redis is back, every event once at least, the backlog in order.
 */
(target.redisUrl ? describe : describe.skip)('the Redis stream through a Redis outage', () => {
  let env: IsolatedEnv;
  let proxy: TcpProxy;
  let t: TestApp;
  let admin: Session;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    let proxied: string;
    ({ proxy, url: proxied } = await TcpProxy.inFrontOf(env.redisUrl!, 6379));
    t = await startTestApp(env, { env: { ...ADMIN_ENV, REDIS_URL: proxied } });
    admin = await adminSession(t);
    await outboxSettled(t);
  });

  afterAll(async () => {
    await t?.close();
    await proxy?.stop();
    await env?.destroy();
  });

  const streamed = async (): Promise<string[]> => {
    const redis = createClient({ url: env.redisUrl! });
    await redis.connect();
    try {
      return (await redis.xRange(`${env.redisKeyPrefix}events`, '-', '+')).map((entry) => entry.message.id!);
    } finally {
      await redis.quit();
    }
  };

  it('records the audit trail while Redis is down; the stream catches up when it is back', async () => {
    const before = new Set(await streamed());
    proxy.cut();
    const during = await Promise.all([signUp(t), signUp(t), signUp(t)]);
    const dataSource = t.app.get(DataSource);
    // delivered (the audit rows are there), not streamed
    await waitFor(
      async () => (await dataSource.query<unknown[]>('SELECT id FROM outbox_events WHERE delivered_at IS NULL')).length === 0,
      10_000,
      25,
    );
    const recorded = (await auditEvents(t, admin)).filter((e) => during.some((user) => e.subjectId === user.id));
    expect(recorded.length).toBeGreaterThanOrEqual(6); // registered + login_succeeded each
    expect(recorded.filter((e) => before.has(e.id))).toEqual([]);
    expect((await dataSource.query<unknown[]>('SELECT id FROM outbox_events WHERE streamed_at IS NULL')).length).toBeGreaterThanOrEqual(6);

    proxy.restore();
    await outboxSettled(t, 30_000);
    const after = await streamed();
    const missing = recorded.map((e) => e.id).filter((id) => !after.includes(id));
    expect(missing).toEqual([]);
    // the backlog went out in id order
    const backlog = after.filter((id) => recorded.some((e) => e.id === id));
    expect(backlog).toEqual([...new Set(backlog)].sort());
  });
});
