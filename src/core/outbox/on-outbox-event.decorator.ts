import { SetMetadata } from '@nestjs/common';

export const OUTBOX_SUBSCRIBER = 'outbox:subscriber';

/**
 * Marks a provider method `(event: DomainEvent, tx: Tx) => Promise<void>` as a subscriber of
 * these event types. The relay finds it at bootstrap and calls it inside the delivery
 * transaction: a database subscriber writes in that transaction, and must be idempotent by
 * `event.id` (delivery is at least once).
 */
export const OnOutboxEvent = (...types: string[]): MethodDecorator => SetMetadata(OUTBOX_SUBSCRIBER, types);
