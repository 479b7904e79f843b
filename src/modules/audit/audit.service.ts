import { Injectable } from '@nestjs/common';
import { KeyRing } from '../../core/crypto/key-ring';
import { NotFoundError } from '../../core/errors/app-error';
import { CursorCodec } from '../../core/http/cursor';
import { CursorPage, sliceOf } from '../../core/http/pagination';
import { assertCursorMode } from '../../core/http/pagination.query';
import { uuidv7Floor } from '../../core/outbox/domain-event';
import { AuditEvent } from './audit-event.entity';
import { AuditFilter, AuditRepository } from './audit.repository';
import { ListAuditEventsQuery } from './dto/list-audit-events.query';

/** Reads of the audit trail (admins). Recording is `AuditRecorder`'s job. */
@Injectable()
export class AuditService {
  private readonly cursors: CursorCodec;

  constructor(
    private readonly events: AuditRepository,
    keys: KeyRing,
  ) {
    this.cursors = new CursorCodec(keys.key('cursor:audit'));
  }

  async list(query: ListAuditEventsQuery): Promise<CursorPage<AuditEvent>> {
    assertCursorMode(query, 'Audit events are');
    const filter: AuditFilter = {
      type: query.type,
      actorId: query.actorId,
      subjectId: query.subjectId,
      fromId: query.since === undefined ? undefined : uuidv7Floor(Date.parse(query.since)),
      toId: query.until === undefined ? undefined : uuidv7Floor(Date.parse(query.until)),
    };
    const limit = query.limit ?? 20;
    const scope = JSON.stringify([filter.type, filter.actorId, filter.subjectId, filter.fromId, filter.toId].map((v) => v ?? null));
    const before = query.after ? this.cursors.decode(scope, query.after).id : null;
    const rows = await this.events.list(filter, before, limit + 1);
    return sliceOf(
      rows,
      limit,
      (row) => ({ value: null, id: row.id }),
      (position) => this.cursors.encode(scope, position),
    );
  }

  async get(id: string): Promise<AuditEvent> {
    const event = await this.events.findById(id);
    if (!event) throw new NotFoundError('AuditEvent', id);
    return event;
  }
}
