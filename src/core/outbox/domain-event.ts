import { uuidv7 } from '../database/uuid';
import { requestContext } from '../http/request-context';

/**
 * A fact that committed: written to the outbox in the transaction of its change, delivered to
 * subscribers (and the Redis stream) afterwards, at least once. `data` never holds a secret.
 */
export interface DomainEvent<D extends object = Record<string, unknown>> {
  /** UUIDv7: subscribers dedupe by it, and `ORDER BY id` is publication order. */
  id: string;
  type: string;
  /** ISO 8601: the millisecond in the id. */
  occurredAt: string;
  /** The authenticated caller; null for anonymous requests and work outside a request. */
  actorId: string | null;
  /** The `X-Request-Id` of the request that caused it; null outside a request. */
  requestId: string | null;
  subjectType: string;
  subjectId: string | null;
  data: D;
}

/** What a publisher says; id and time are made here, actor and request default from the request context. */
export interface NewDomainEvent<D extends object = Record<string, unknown>> {
  type: string;
  subjectType: string;
  subjectId: string | null;
  data?: D;
  actorId?: string | null;
  requestId?: string | null;
}

export function toDomainEvent<D extends object>(input: NewDomainEvent<D>): DomainEvent<D> {
  const context = requestContext.getStore();
  const id = uuidv7();
  return {
    id,
    type: input.type,
    // the id's own millisecond: a time range is an id range (the audit filters seek by id)
    occurredAt: new Date(uuidv7Millis(id)).toISOString(),
    actorId: input.actorId !== undefined ? input.actorId : (context?.actorId ?? null),
    requestId: input.requestId !== undefined ? input.requestId : (context?.requestId ?? null),
    subjectType: input.subjectType,
    subjectId: input.subjectId,
    data: input.data ?? ({} as D),
  };
}

/** The Unix milliseconds of a UUIDv7. */
export function uuidv7Millis(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/** The smallest UUIDv7 of that millisecond: `id >= uuidv7Floor(t)` is "made at t or later". */
export function uuidv7Floor(ms: number): string {
  const hex = Math.max(0, Math.trunc(ms)).toString(16).padStart(12, '0').slice(-12);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}
