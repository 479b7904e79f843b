import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository as OrmRepository } from 'typeorm';
import { TypeOrmRepository } from '../../core/database/typeorm.repository';
import { Tx } from '../../core/database/unit-of-work';
import type { DomainEvent } from '../../core/outbox/domain-event';
import { AuditEvent } from './audit-event.entity';

export interface AuditFilter {
  type?: string;
  actorId?: string;
  subjectId?: string;
  /** Id bounds (UUIDv7 is time-ordered): `id >= fromId`, `id < toId`. */
  fromId?: string;
  toId?: string;
}

interface AuditRow {
  id: string;
  type: string;
  occurred_at: string | Date;
  actor_id: string | null;
  subject_type: string;
  subject_id: string | null;
  request_id: string | null;
  data: string;
}

/** The equality filters, each with the (column, id) index a page walks; the first one given is the one walked. */
const SEEKS = [
  { key: 'subjectId', column: 'subject_id', index: 'ix_audit_events_subject' },
  { key: 'actorId', column: 'actor_id', index: 'ix_audit_events_actor' },
  { key: 'type', column: 'type', index: 'ix_audit_events_type' },
] as const;

const COLUMNS = 'id, type, occurred_at, actor_id, subject_type, subject_id, request_id, data';

@Injectable()
export class AuditRepository extends TypeOrmRepository<AuditEvent> {
  private readonly mysql: boolean;
  private readonly insertPrefix: string;

  constructor(@InjectRepository(AuditEvent) orm: OrmRepository<AuditEvent>) {
    super(orm, 'audit');
    this.mysql = orm.manager.connection.options.type === 'mysql';
    this.insertPrefix = `INSERT ${this.mysql ? 'IGNORE' : 'OR IGNORE'} INTO audit_events (${COLUMNS}) VALUES `;
  }

  /** Records the events inside the relay's transaction, in one statement; an event delivered again is already there (same id): skipped. */
  async insertIfAbsent(tx: Tx, events: DomainEvent[]): Promise<void> {
    if (events.length === 0) return;
    const values = events.flatMap((event) => [
      event.id,
      event.type,
      new Date(event.occurredAt).toISOString().replace('T', ' ').replace('Z', ''),
      event.actorId,
      event.subjectType,
      event.subjectId,
      event.requestId,
      JSON.stringify(event.data ?? {}),
    ]);
    await tx.manager.query(this.insertPrefix + events.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', '), values);
  }

  /**
   * Newest first, strictly before `beforeId`. The page walks one index backwards from the
   * cursor, named in the query: left to itself, MariaDB reads "column = ? AND id < ?" with the
   * equality alone (`ref`) and walks every newer row before the cursor, so page n would cost n
   * pages; told to use the index, it is a `range` scan starting at the cursor. SQLite picks that
   * plan by itself; `INDEXED BY` keeps it so.
   */
  async list(filter: AuditFilter, beforeId: string | null, limit: number): Promise<AuditEvent[]> {
    const seek = SEEKS.find(({ key }) => filter[key] !== undefined);
    const hint = seek
      ? this.mysql
        ? `FORCE INDEX (${seek.index})`
        : `INDEXED BY ${seek.index}`
      : this.mysql
        ? 'FORCE INDEX (PRIMARY)'
        : '';
    const where: string[] = [];
    const params: unknown[] = [];
    for (const { key, column } of SEEKS) {
      if (filter[key] === undefined) continue;
      where.push(`${column} = ?`);
      params.push(filter[key]);
    }
    if (filter.fromId !== undefined) {
      where.push('id >= ?');
      params.push(filter.fromId);
    }
    if (filter.toId !== undefined) {
      where.push('id < ?');
      params.push(filter.toId);
    }
    if (beforeId !== null) {
      where.push('id < ?');
      params.push(beforeId);
    }
    const sql =
      `SELECT ${COLUMNS} FROM audit_events ${hint} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ` +
      `ORDER BY id DESC LIMIT ${Math.trunc(limit)}`;
    const rows = await this.orm.query<AuditRow[]>(sql, params);
    return rows.map(toAuditEvent);
  }
}

function toAuditEvent(row: AuditRow): AuditEvent {
  return {
    id: row.id,
    type: row.type,
    occurredAt:
      typeof row.occurred_at === 'string'
        ? new Date(row.occurred_at.replace(' ', 'T') + (row.occurred_at.endsWith('Z') ? '' : 'Z'))
        : row.occurred_at,
    actorId: row.actor_id,
    subjectType: row.subject_type,
    subjectId: row.subject_id,
    requestId: row.request_id,
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}
