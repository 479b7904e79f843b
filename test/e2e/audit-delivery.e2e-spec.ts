import { Injectable, Module } from '@nestjs/common';
import { createClient } from '@redis/client';
import { DataSource } from 'typeorm';
import { DomainEvent } from '../../src/core/outbox/domain-event';
import { OnOutboxEvent } from '../../src/core/outbox/on-outbox-event.decorator';
import { ACCOUNT_EVENT_TYPES } from '../../src/modules/accounts';
import { AUTH_EVENT_TYPES } from '../../src/modules/auth';
import { USER_EVENT_TYPES } from '../../src/modules/users';
import { auditEvents } from '../support/audit';
import { ADMIN_ENV, adminSession, Session, signUp } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv, target } from '../support/isolated-env';
import { deposit, openAccount, transfer } from '../support/money';
import { outboxSettled } from '../support/outbox';
import { startTestApp, TestApp } from '../support/test-app';

/** Counts, per instance, how many times each event reached a subscriber (the relay's promise: once per row at a time). */
@Injectable()
class DeliveryCounter {
  readonly calls = new Map<string, number>();

  @OnOutboxEvent(...USER_EVENT_TYPES, ...AUTH_EVENT_TYPES, ...ACCOUNT_EVENT_TYPES)
  count(event: DomainEvent): void {
    this.calls.set(event.id, (this.calls.get(event.id) ?? 0) + 1);
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
    const [ca, cb] = [a.app.get(DeliveryCounter).calls, b!.app.get(DeliveryCounter).calls];
    const twice = ids.filter((id) => (ca.get(id) ?? 0) + (cb.get(id) ?? 0) !== 1);
    expect(twice).toEqual([]);
    expect(ca.size).toBeGreaterThan(0);
    expect(cb.size).toBeGreaterThan(0); // both relays took part
    const recorded = (await auditEvents(a, admin)).map((event) => event.id).sort();
    expect(recorded).toEqual([...ids].sort());
  });

  (target.redisUrl ? it : it.skip)('the Redis stream holds each event once, with its id, type and JSON', async () => {
    await burst(b ? [a, b] : [a]);
    await outboxSettled(a);
    const redis = createClient({ url: target.redisUrl! });
    await redis.connect();
    try {
      const entries = await redis.xRange(`${env.redisKeyPrefix}events`, '-', '+');
      const streamed = entries.map((entry) => entry.message);
      const recorded = await auditEvents(a, admin);
      expect(streamed.map((m) => m.id).sort()).toEqual(recorded.map((e) => e.id).sort());
      for (const message of streamed) {
        const event = JSON.parse(message.event!) as DomainEvent;
        expect(event).toMatchObject({ id: message.id, type: message.type });
      }
    } finally {
      await redis.quit();
    }
  });
});
