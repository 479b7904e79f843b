import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../database/unit-of-work';
import { DomainEvent, NewDomainEvent } from './domain-event';

/**
 * Publishes an event that changes nothing else (a failed login) in a transaction of its own.
 * An event that goes with a change is published with `tx.publish` inside that change's unit of work.
 */
@Injectable()
export class Outbox {
  constructor(private readonly uow: UnitOfWork) {}

  publish<D extends object>(event: NewDomainEvent<D>): Promise<DomainEvent<D>> {
    return this.uow.run((tx) => tx.publish(event));
  }
}
