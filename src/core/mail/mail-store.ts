import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

/** The queue table (migration `CreateMailQueue1767000000000`). */
export const MAIL_QUEUE_TABLE = 'mail_queue';

export interface NewMailRow {
  id: string;
  kind: string;
  recipient: string;
  userId: string | null;
  actorId: string | null;
  requestId: string | null;
}

/** A pending job as read by the relay. */
export interface MailRow extends NewMailRow {
  /** Tries claimed so far (before this one). */
  attempts: number;
  /** Its due time when read: the claim succeeds only if it is still that. */
  nextAttemptAt: number;
  createdAt: number;
}

interface RawRow {
  id: string;
  kind: string;
  recipient: string;
  user_id: string | null;
  actor_id: string | null;
  request_id: string | null;
  attempts: number | string;
  next_attempt_at: number | string;
  created_at: number | string;
}

const COLUMNS = 'id, kind, recipient, user_id, actor_id, request_id, attempts, next_attempt_at, created_at';

/** The queue's SQL: plain statements, one format on both drivers (times as Unix ms). */
@Injectable()
export class MailStore {
  constructor(private readonly dataSource: DataSource) {}

  /** In the caller's transaction: the row commits or rolls back with it. */
  async insert(manager: EntityManager, row: NewMailRow, now: number): Promise<void> {
    await manager.query(
      `INSERT INTO ${MAIL_QUEUE_TABLE} (id, kind, recipient, user_id, actor_id, request_id, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)`,
      [row.id, row.kind, row.recipient, row.userId, row.actorId, row.requestId, now, now],
    );
  }

  /** The oldest pending jobs due by `now`, outside any transaction (nothing is locked). */
  async due(now: number, limit: number): Promise<MailRow[]> {
    const rows = await this.dataSource.query<RawRow[]>(
      `SELECT ${COLUMNS} FROM ${MAIL_QUEUE_TABLE} WHERE done_at IS NULL AND next_attempt_at <= ? ORDER BY id LIMIT ${Number(limit)}`,
      [now],
    );
    return rows.map((raw) => ({
      id: raw.id,
      kind: raw.kind,
      recipient: raw.recipient,
      userId: raw.user_id,
      actorId: raw.actor_id,
      requestId: raw.request_id,
      attempts: Number(raw.attempts),
      nextAttemptAt: Number(raw.next_attempt_at),
      createdAt: Number(raw.created_at),
    }));
  }

  /**
   * Takes the job until `leaseUntil`, counting the attempt, only if nobody moved it since it was
   * read: of several relays that read it, exactly one's UPDATE matches. A relay that dies holding
   * it leaves it to be taken again when the lease ends.
   */
  async claim(row: MailRow, leaseUntil: number): Promise<boolean> {
    return (
      (await this.execute(
        `UPDATE ${MAIL_QUEUE_TABLE} SET next_attempt_at = ?, attempts = attempts + 1 WHERE id = ? AND done_at IS NULL AND next_attempt_at = ?`,
        [leaseUntil, row.id, row.nextAttemptAt],
      )) === 1
    );
  }

  /** Sent or dropped: done whoever holds the lease now (the mail went out, or there is none to send). */
  async finish(id: string, outcome: 'sent' | 'dropped', now: number): Promise<void> {
    await this.execute(`UPDATE ${MAIL_QUEUE_TABLE} SET done_at = ?, outcome = ? WHERE id = ? AND done_at IS NULL`, [now, outcome, id]);
  }

  /** A failed attempt: due again at `retryAt`, unless another relay took the job after our lease ran out. */
  async retryLater(id: string, leaseUntil: number, retryAt: number, lastError: string): Promise<void> {
    await this.execute(
      `UPDATE ${MAIL_QUEUE_TABLE} SET next_attempt_at = ?, last_error = ? WHERE id = ? AND done_at IS NULL AND next_attempt_at = ?`,
      [retryAt, lastError, id, leaseUntil],
    );
  }

  /** A failed attempt of a job too old to retry: done, `failed`, under the same condition as `retryLater`. */
  async giveUp(id: string, leaseUntil: number, now: number, lastError: string): Promise<void> {
    await this.execute(
      `UPDATE ${MAIL_QUEUE_TABLE} SET done_at = ?, outcome = 'failed', last_error = ? WHERE id = ? AND done_at IS NULL AND next_attempt_at = ?`,
      [now, lastError, id, leaseUntil],
    );
  }

  /** Deletes jobs done before `cutoff`; resolves with how many. */
  purge(cutoff: number): Promise<number> {
    return this.execute(`DELETE FROM ${MAIL_QUEUE_TABLE} WHERE done_at < ?`, [cutoff]);
  }

  /** One statement outside any transaction; resolves with the rows it changed. */
  private async execute(sql: string, params: unknown[]): Promise<number> {
    const runner = this.dataSource.createQueryRunner();
    try {
      return (await runner.query(sql, params, true)).affected ?? 0;
    } finally {
      await runner.release();
    }
  }
}
