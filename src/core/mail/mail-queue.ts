import { Injectable } from '@nestjs/common';
import type { Tx } from '../database/unit-of-work';
import { uuidv7 } from '../database/uuid';
import { requestContext } from '../http/request-context';
import { assertHeaderSafe } from './mail-transport';
import { MailRelay } from './mail-relay';
import { MailStore } from './mail-store';

const MAX_KIND_LENGTH = 64;
const MAX_RECIPIENT_LENGTH = 254;

/** Queues outgoing mail in the transaction of the change that causes it. */
@Injectable()
export class MailQueue {
  constructor(
    private readonly store: MailStore,
    private readonly relay: MailRelay,
  ) {}

  /**
   * Queues a mail in the caller's transaction (a row in `mail_queue`): it exists iff the
   * transaction commits, and the relay is nudged after the commit. Nothing is sent here, and a
   * mail that cannot be sent later never fails the caller. `actorId` / `requestId` come from the
   * request context, as for domain events.
   */
  async enqueue(tx: Tx, request: { kind: string; to: string; userId?: string | null }): Promise<string> {
    // our own code's mistakes, refused while the caller can still roll back
    if (!request.kind || request.kind.length > MAX_KIND_LENGTH) throw new Error(`mail kind must be 1 to ${MAX_KIND_LENGTH} characters`);
    if (!request.to || request.to.length > MAX_RECIPIENT_LENGTH)
      throw new Error(`mail recipient must be 1 to ${MAX_RECIPIENT_LENGTH} characters`);
    assertHeaderSafe('to', request.to);
    const context = requestContext.getStore();
    const id = uuidv7();
    await this.store.insert(
      tx.manager,
      {
        id,
        kind: request.kind,
        recipient: request.to,
        userId: request.userId ?? null,
        actorId: context?.actorId ?? null,
        requestId: context?.requestId ?? null,
      },
      Date.now(),
    );
    tx.afterCommit(() => this.relay.nudge());
    return id;
  }
}
