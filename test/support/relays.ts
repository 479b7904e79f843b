import { DataSource } from 'typeorm';
import { MailRelay } from '../../src/core/mail/mail-relay';
import { OutboxRelay } from '../../src/core/outbox/outbox-relay';
import { TestApp } from './test-app';
import { waitFor } from './wait-for';

export interface HeldRelays {
  /** Lets both relays run again, at once. */
  release(): void;
}

/**
 * Holds the outbox and mail relays of `t`: the pass each has in hand finishes first, and no other
 * starts until `release` (a nudge or a poll meanwhile finds nothing to do). The statements
 * recorded meanwhile are the requests' own; the relays run on their own clocks and otherwise may
 * send theirs (an idle look, an empty follow-up pass) into any window.
 */
export async function holdRelays(t: TestApp): Promise<HeldRelays> {
  /** What of each relay this reaches into (private members: a test's hold, not an API). */
  interface OutboxInside {
    pass: () => Promise<void>;
    inFlight: Promise<void> | null;
    nudge(): void;
  }
  interface MailInside {
    pass: () => Promise<{ due: number; taken: number }>;
    chain: Promise<unknown>;
    nudge(): void;
  }
  const outbox: OutboxInside = t.app.get<OutboxRelay, OutboxInside>(OutboxRelay);
  const mail: MailInside = t.app.get<MailRelay, MailInside>(MailRelay);
  const outboxPass = jest.spyOn(outbox, 'pass').mockResolvedValue(undefined);
  const mailPass = jest.spyOn(mail, 'pass').mockResolvedValue({ due: 0, taken: 0 });
  await outbox.inFlight;
  await mail.chain;
  return {
    release() {
      outboxPass.mockRestore();
      mailPass.mockRestore();
      outbox.nudge();
      mail.nudge();
    },
  };
}

/**
 * Waits (polling, with a deadline) until every queued mail has been dealt with (sent, dropped or
 * given up). Wait for it before `outboxSettled`: composing a mail writes rows (its one-time token)
 * and may publish events.
 */
export async function mailSettled(t: TestApp, timeoutMs = 10_000): Promise<void> {
  const dataSource = t.app.get(DataSource);
  const pending = 'SELECT COUNT(*) AS n FROM mail_queue WHERE done_at IS NULL';
  await waitFor(async () => Number((await dataSource.query<Array<{ n: number | string }>>(pending))[0]!.n) === 0, timeoutMs, 20);
}
