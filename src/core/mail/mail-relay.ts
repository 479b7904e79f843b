import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { UnitOfWork } from '../database/unit-of-work';
import { describeDriverError, isDriverError } from '../errors/driver-errors';
import { requestContext } from '../http/request-context';
import { LeanCounter } from '../metrics/lean-metrics';
import { MetricsService } from '../metrics/metrics.service';
import type { MailJob } from './mail.types';
import { MailComposers } from './mail-composers';
import { describeFailure, GIVE_UP_AFTER_MS, retryDelayMs } from './mail-retry';
import { MailRow, MailStore } from './mail-store';
import { MAIL_TRANSPORT, MailTransport, PermanentMailError } from './mail-transport';

/** Between looks for due jobs. A queueing commit nudges its own instance's relay at once; this bounds retries' and other instances' latency. */
export const MAIL_POLL_MS = 1_000;
/** Jobs looked at per pass (each is claimed, composed and sent on its own, in id order). */
const BATCH = 20;
/** A send that has not finished by then fails the attempt (SMTP's own connect, greeting and idle timeouts are shorter). */
const SEND_TIMEOUT_MS = 30_000;
/** A claim outlives the longest compose (a unit of work's `maxRunMs`) and send by this much before another relay may take the job. */
const LEASE_MARGIN_MS = 30_000;
/** On shutdown the job in hand may finish for this long; then its send is aborted (and retried later, by any instance). */
const STOP_GRACE_MS = 3_000;
/** Back-off of the relay itself when a pass fails (the database is down): doubling up to this. */
const MAX_PASS_BACKOFF_MS = 30_000;
/** Finished jobs (and `.eml` files) are kept this long, then purged by an hourly sweep. */
export const MAIL_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
const SWEEP_EVERY_MS = 60 * 60 * 1000;

type Outcome = 'sent' | 'dropped' | 'error' | 'given_up';

class NoComposerError extends Error {}

/**
 * Sends queued mail, at least once, outside any transaction: the outbox relay delivers inside one
 * (an SMTP outage would hold up the audit log, and on SQLite a transaction holds the only writer).
 * Each pass reads the due jobs without locking, then one at a time in id order: claims the job
 * with a conditional UPDATE that moves its due time to the end of a lease (of several relays
 * exactly one wins), composes the message in a unit of work that commits (a composer mints its
 * one-time token there), sends it, and marks it done. A failure (the composer's or the send's)
 * makes the job due again after a back-off; a relay that dies after sending but before marking
 * leaves the job to be sent again when its lease ends.
 */
@Injectable()
export class MailRelay implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(MailRelay.name);
  private readonly leaseMs: number;
  private readonly outcomes: LeanCounter | null;
  /** Passes run one after another on this chain, whether a timer or `drain()` asked. */
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  /** When the pending timer fires (ms since the epoch). */
  private timerDue = 0;
  private sweeper: NodeJS.Timeout | null = null;
  private passing = false;
  private again = false;
  private started = false;
  private stopping = false;
  private failures = 0;
  /** Aborts the send in hand when the grace period of a shutdown is over. */
  private readonly stop = new AbortController();

  constructor(
    private readonly store: MailStore,
    private readonly uow: UnitOfWork,
    private readonly composers: MailComposers,
    @Inject(MAIL_TRANSPORT) private readonly transport: MailTransport,
    @Optional() metrics?: MetricsService,
  ) {
    this.leaseMs = uow.maxRunMs + SEND_TIMEOUT_MS + LEASE_MARGIN_MS;
    this.outcomes = metrics
      ? new LeanCounter(
          'mail_sent_total',
          'Mail jobs by kind and outcome (sent, dropped, error: an attempt failed, given_up)',
          ['kind', 'outcome'],
          metrics.registry,
        )
      : null;
  }

  onApplicationBootstrap(): void {
    this.started = true;
    this.schedule(0); // jobs left by a stop or a crash go first
    this.sweeper = setInterval(() => void this.purge(), SWEEP_EVERY_MS).unref();
  }

  /** Stops polling and lets the job in hand finish (its send aborted after a grace period) while the database is still open. */
  async onModuleDestroy(): Promise<void> {
    this.started = false;
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.sweeper) clearInterval(this.sweeper);
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([this.chain, new Promise((resolve) => (grace = setTimeout(resolve, STOP_GRACE_MS)))]);
    clearTimeout(grace);
    this.stop.abort();
    await this.chain;
    this.transport.close();
  }

  /** Look now rather than at the next poll (after a commit that queued mail). */
  nudge(): void {
    if (!this.started || this.failures > 0) return; // while failing, the back-off decides
    if (this.passing) this.again = true;
    else this.schedule(0);
  }

  /** One pass now (after any pass in hand); resolves with the jobs it took (sent, dropped or failed). */
  async drain(): Promise<number> {
    return (await this.enqueuePass()).taken;
  }

  private enqueuePass(): Promise<{ due: number; taken: number }> {
    const run = this.chain.then(() => this.pass());
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The next pass no later than `ms` from now (a pass already due sooner stays). */
  private schedule(ms: number): void {
    if (!this.started) return;
    const due = Date.now() + ms;
    if (this.timer) {
      if (this.timerDue <= due) return;
      clearTimeout(this.timer);
    }
    this.timerDue = due;
    // not in the context of the request whose commit nudged: the pass belongs to no request
    this.timer = setTimeout(() => requestContext.exit(() => this.tick()), ms).unref();
  }

  private tick(): void {
    this.timer = null;
    this.passing = true;
    this.again = false;
    this.enqueuePass().then(
      ({ due }) => {
        this.failures = 0;
        this.passing = false;
        this.schedule(due === BATCH || this.again ? 0 : MAIL_POLL_MS);
      },
      (error: unknown) => {
        this.failures++;
        this.passing = false;
        const err = isDriverError(error) ? describeDriverError(error) : error;
        this.logger.error({ msg: 'mail pass failed; retrying with back-off', failures: this.failures, err });
        this.schedule(Math.min(MAIL_POLL_MS * 2 ** this.failures, MAX_PASS_BACKOFF_MS));
      },
    );
  }

  private async pass(): Promise<{ due: number; taken: number }> {
    const rows = await this.store.due(Date.now(), BATCH);
    let taken = 0;
    for (const row of rows) {
      if (this.stopping) break;
      const leaseUntil = Date.now() + this.leaseMs;
      if (!(await this.store.claim(row, leaseUntil))) continue; // another relay took it
      taken++;
      await this.attempt(row, leaseUntil);
    }
    return { due: rows.length, taken };
  }

  /** One try of a claimed job. Database failures marking it propagate (the pass fails; the lease ends; it is tried again). */
  private async attempt(row: MailRow, leaseUntil: number): Promise<void> {
    const job: MailJob = {
      id: row.id,
      kind: row.kind,
      to: row.recipient,
      userId: row.userId,
      actorId: row.actorId,
      requestId: row.requestId,
      attempt: row.attempts + 1,
    };
    let where: string | null;
    try {
      const composer = this.composers.get(job.kind);
      if (!composer) throw new NoComposerError(`no mail composer registered for "${job.kind}"`);
      const message = await this.uow.run((tx) => composer(job, tx));
      where =
        message === null
          ? null
          : await this.transport.send(message, job.id, AbortSignal.any([this.stop.signal, AbortSignal.timeout(SEND_TIMEOUT_MS)]));
    } catch (error) {
      await this.failed(job, row.createdAt, leaseUntil, error);
      return;
    }
    if (where === null) {
      await this.store.finish(job.id, 'dropped', Date.now());
      this.count(job.kind, 'dropped');
      this.logger.log({ msg: 'mail dropped: nothing to send', mailId: job.id, kind: job.kind });
      return;
    }
    await this.store.finish(job.id, 'sent', Date.now());
    this.count(job.kind, 'sent');
    this.logger.log({ msg: 'mail sent', mailId: job.id, kind: job.kind, transport: this.transport.name, where });
    this.logger.debug({ msg: 'mail recipient', mailId: job.id, to: job.to });
  }

  private async failed(job: MailJob, createdAt: number, leaseUntil: number, error: unknown): Promise<void> {
    const lastError = describeFailure(error);
    const now = Date.now();
    const fields = { mailId: job.id, kind: job.kind, attempt: job.attempt, error: lastError };
    const refused = error instanceof PermanentMailError;
    if (refused || now - createdAt >= GIVE_UP_AFTER_MS) {
      await this.store.giveUp(job.id, leaseUntil, now, lastError);
      this.count(job.kind, 'given_up');
      const why = refused ? 'the server refused it for good' : 'still failing a day after it was queued';
      this.logger.error({ msg: `mail given up: ${why}`, ...fields });
      return;
    }
    const retryInMs = retryDelayMs(job.attempt);
    await this.store.retryLater(job.id, leaseUntil, now + retryInMs, lastError);
    this.count(job.kind, 'error');
    // a missing composer is a deploy's mistake, not the mail server's weather
    const log = { msg: 'mail not sent; retrying', ...fields, retryInMs };
    if (error instanceof NoComposerError) this.logger.error(log);
    else this.logger.warn(log);
  }

  private count(kind: string, outcome: Outcome): void {
    this.outcomes?.inc(`${kind} ${outcome}`, () => ({ kind, outcome }));
  }

  /** The hourly sweep's work: finished jobs, and the transport's copies of mails, past the retention. */
  async purge(): Promise<void> {
    try {
      const cutoff = Date.now() - MAIL_RETENTION_MS;
      await this.store.purge(cutoff);
      await this.transport.purge?.(cutoff);
    } catch (error) {
      const err = isDriverError(error) ? describeDriverError(error) : error;
      this.logger.warn({ msg: 'mail purge failed; next sweep retries', err });
    }
  }
}
