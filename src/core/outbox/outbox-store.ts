import type { EntityManager } from 'typeorm';
import type { DomainEvent } from './domain-event';

/** The outbox table (migration `CreateOutboxEvents1766000000000`): one row per published event, JSON in `payload`. */
export const OUTBOX_TABLE = 'outbox_events';

const INSERT_SQL = `INSERT INTO ${OUTBOX_TABLE} (id, type, payload, created_at) VALUES (?, ?, ?, ?)`;

/** One plain INSERT with the transaction's own manager: the row commits or rolls back with the change. */
export async function insertOutboxEvent(manager: EntityManager, event: DomainEvent<object>): Promise<void> {
  await manager.query(INSERT_SQL, [event.id, event.type, JSON.stringify(event), Date.now()]);
}
