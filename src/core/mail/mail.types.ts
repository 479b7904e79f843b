import type { Tx } from '../database/unit-of-work';

/** What a composer hands back to be sent: one recipient, a plain-text part and a minimal HTML part. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** A queued mail as its composer sees it. */
export interface MailJob {
  /** UUIDv7: `ORDER BY id` is queueing order. */
  id: string;
  kind: string;
  to: string;
  userId: string | null;
  /** The caller of the request that queued it; null outside a request or for anonymous callers. */
  actorId: string | null;
  /** The `X-Request-Id` of the request that queued it; null outside a request. */
  requestId: string | null;
  /** 1 on the first try. */
  attempt: number;
}

/**
 * Turns a job into the message to send, inside a transaction that commits BEFORE the send (mint
 * a one-time token here and store its hash; publish audit events with `tx.publish`, passing the
 * job's `actorId` / `requestId`: the relay runs outside the request). null: nothing to send
 * (unknown user, already verified...): the job is done, no mail. A composer that throws is
 * retried like a failed send. Delivery is at least once: a retry composes again (a new token
 * voids the one in a mail that may or may not have gone out).
 */
export type MailComposer = (job: MailJob, tx: Tx) => Promise<MailMessage | null>;
