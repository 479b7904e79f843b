import { DataSource } from 'typeorm';
import { TestApp } from './test-app';
import { waitFor } from './wait-for';

/**
 * Waits (polling, with a deadline) until the outbox relay has delivered every event, and streamed
 * it too when Redis is configured: a database snapshot taken afterwards is not changed by a
 * delivery still under way.
 */
export async function outboxSettled(t: TestApp, timeoutMs = 10_000): Promise<void> {
  const dataSource = t.app.get(DataSource);
  const streaming = Boolean(t.config.redisUrl);
  const pending = `SELECT COUNT(*) AS n FROM outbox_events WHERE delivered_at IS NULL${streaming ? ' OR streamed_at IS NULL' : ''}`;
  await waitFor(async () => Number((await dataSource.query<Array<{ n: number | string }>>(pending))[0]!.n) === 0, timeoutMs, 20);
}
