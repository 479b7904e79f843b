import { Injectable } from '@nestjs/common';
import { Tx } from '../../core/database/unit-of-work';
import type { DomainEvent } from '../../core/outbox/domain-event';
import { OnOutboxEvents } from '../../core/outbox/on-outbox-event.decorator';
import { ACCOUNT_EVENT_TYPES } from '../accounts';
import { AUTH_EVENT_TYPES } from '../auth';
import { USER_EVENT_TYPES } from '../users';
import { AuditRepository } from './audit.repository';

/** Every event type the audit trail records, from each module's public face. */
export const AUDITED_EVENT_TYPES: readonly string[] = [...USER_EVENT_TYPES, ...AUTH_EVENT_TYPES, ...ACCOUNT_EVENT_TYPES];

/** Records a delivery pass's events in its transaction, in one statement; a redelivered event is already there (same id). */
@Injectable()
export class AuditRecorder {
  constructor(private readonly events: AuditRepository) {}

  @OnOutboxEvents(...AUDITED_EVENT_TYPES)
  record(events: DomainEvent[], tx: Tx): Promise<void> {
    return this.events.insertIfAbsent(tx, events);
  }
}
