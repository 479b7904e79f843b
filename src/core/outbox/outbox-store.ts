import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { Tx } from '../database/unit-of-work';
import type { DomainEvent } from './domain-event';

/** The outbox table (migration `CreateOutboxEvents1766000000000`): one row per published event, JSON in `payload`. */
export const OUTBOX_TABLE = 'outbox_events';

const INSERT_SQL = `INSERT INTO ${OUTBOX_TABLE} (id, type, payload, created_at) VALUES (?, ?, ?, ?)`;

/** One plain INSERT with the transaction's own manager: the row commits or rolls back with the change. */
export async function insertOutboxEvent(manager: EntityManager, event: DomainEvent<object>): Promise<void> {
  await manager.query(INSERT_SQL, [event.id, event.type, JSON.stringify(event), Date.now()]);
}

export interface OutboxRow {
  id: string;
  payload: string;
}

/** A row's two cursors: handed to the subscribers, appended to the Redis stream. */
export type OutboxCursor = 'delivered_at' | 'streamed_at';

/** The relay's statements on the outbox table (the insert is `insertOutboxEvent`, in the change's transaction). */
@Injectable()
export class OutboxStore {
  private readonly mysql: boolean;

  constructor(private readonly dataSource: DataSource) {
    this.mysql = dataSource.options.type === 'mysql';
  }

  /** A cheap look outside any transaction: an idle poll takes no lock (nor SQLite's gate). */
  async anyPending(cursor: OutboxCursor): Promise<boolean> {
    const rows = await this.dataSource.query<unknown[]>(`SELECT id FROM ${OUTBOX_TABLE} WHERE ${cursor} IS NULL LIMIT 1`);
    return rows.length > 0;
  }

  /**
   * The oldest `limit` rows not yet past `cursor`, locked until `tx` ends: `FOR UPDATE SKIP LOCKED`
   * on MySQL/MariaDB, so instances never hold one row at once; SQLite's transaction is exclusive.
   */
  claim(tx: Tx, cursor: OutboxCursor, limit: number): Promise<OutboxRow[]> {
    return tx.manager.query<OutboxRow[]>(
      `SELECT id, payload FROM ${OUTBOX_TABLE} WHERE ${cursor} IS NULL ORDER BY id LIMIT ${limit}` +
        (this.mysql ? ' FOR UPDATE SKIP LOCKED' : ''),
    );
  }

  /** Moves `cursors` past `rows`, in one UPDATE. */
  async mark(tx: Tx, cursors: OutboxCursor[], rows: OutboxRow[]): Promise<void> {
    if (rows.length === 0) return;
    const now = Date.now();
    await tx.manager.query(
      `UPDATE ${OUTBOX_TABLE} SET ${cursors.map((cursor) => `${cursor} = ?`).join(', ')} WHERE id IN (${rows.map(() => '?').join(', ')})`,
      [...cursors.map(() => now), ...rows.map((row) => row.id)],
    );
  }

  /** Deletes the rows delivered before `cutoff` (ms), and streamed too when there is a stream. */
  async purge(cutoff: number, streamed: boolean): Promise<void> {
    await this.dataSource.query(`DELETE FROM ${OUTBOX_TABLE} WHERE delivered_at < ?${streamed ? ' AND streamed_at IS NOT NULL' : ''}`, [
      cutoff,
    ]);
  }
}
