import { SetMetadata } from '@nestjs/common';

export const OUTBOX_SUBSCRIBER = 'outbox:subscriber';
export const OUTBOX_BATCH_SUBSCRIBER = 'outbox:batch-subscriber';

/**
 * Marks a provider method `(event: DomainEvent, tx: Tx) => Promise<void>` as a subscriber of
 * these event types. The relay finds it at bootstrap and calls it inside the delivery
 * transaction: a database subscriber writes in that transaction, and must be idempotent by
 * `event.id` (delivery is at least once).
 */
export const OnOutboxEvent = (...types: string[]): MethodDecorator => SetMetadata(OUTBOX_SUBSCRIBER, types);

/**
 * Like `@OnOutboxEvent`, for a method `(events: DomainEvent[], tx: Tx) => Promise<void>` called
 * once per delivery pass with that pass's events of these types, in id order: one multi-row
 * statement rather than one per event.
 */
export const OnOutboxEvents = (...types: string[]): MethodDecorator => SetMetadata(OUTBOX_BATCH_SUBSCRIBER, types);
