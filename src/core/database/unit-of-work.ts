import { Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { ServiceUnavailableError } from '../errors/app-error';
import { describeDriverError, isContentionError, isDriverError } from '../errors/driver-errors';
import { DomainEvent, NewDomainEvent, toDomainEvent } from '../outbox/domain-event';
import { insertOutboxEvent } from '../outbox/outbox-store';
import { SqliteGate } from './sqlite-gate';

/** An open database transaction: repositories take it to run their statements inside it. */
export interface Tx {
  readonly manager: EntityManager;
  /**
   * Runs after the transaction commits (never if it rolls back): domain events go here. A hook
   * that throws or rejects is logged; the committed work still answers as committed.
   */
  afterCommit(fn: () => unknown): void;
  /**
   * Appends a domain event to the outbox inside this transaction: it exists if and only if the
   * transaction commits (a rolled-back attempt's rows vanish with it, so retries never
   * duplicate). The relay delivers it after the commit.
   */
  publish<D extends object>(event: NewDomainEvent<D>): Promise<DomainEvent<D>>;
}

const MAX_ATTEMPTS = 6;
/** Back-off before attempt n+1 is up to n × this (jittered). */
const BACKOFF_STEP_MS = 20;
const MAX_TOTAL_BACKOFF_MS = (BACKOFF_STEP_MS * MAX_ATTEMPTS * (MAX_ATTEMPTS - 1)) / 2;

/**
 * Runs work in one database transaction. Deadlocks and lock-wait timeouts are retried a bounded
 * number of times with jittered back-off, then surface as 503, never 500. On SQLite (one
 * connection, one writer) a transaction has the connection to itself (`SqliteGate`); with
 * another process on the same file, a transaction is deferred (TypeORM always sends `BEGIN`), so
 * it reads on a snapshot and fails at its first write if the other process holds the write lock
 * (`SQLITE_BUSY`) or committed since (`SQLITE_BUSY_SNAPSHOT`): retried like a deadlock. (`BEGIN
 * IMMEDIATE` would wait in SQLite's busy handler instead, which blocks the event loop.)
 * Every multi-statement write goes through here, never through `manager.transaction` directly.
 *
 * A run never commits later than `maxRunMs` after it was asked for: each attempt's waits are
 * bounded by the connection's lock and statement timeouts (`DB_LOCK_TIMEOUT`,
 * `DB_STATEMENT_TIMEOUT`), and an attempt that finds the run past that bound (when it gets its
 * connection, or when its work is done) rolls back instead of committing: 503. Leases that must
 * outlive a transaction (the idempotency claims) are derived from `maxRunMs`.
 */
@Injectable()
export class UnitOfWork {
  private readonly logger = new Logger(UnitOfWork.name);
  private readonly sqlite: SqliteGate | null;
  /** Told after a run that published events has committed (the outbox relay: deliver now rather than at its next poll). */
  private readonly publishedListeners: Array<() => void> = [];
  /** The longest a run may take from `run()` to its commit. */
  readonly maxRunMs: number;

  constructor(
    private readonly dataSource: DataSource,
    @InjectConfig() config: Pick<AppConfig, 'dbTimeouts'>,
  ) {
    this.sqlite = dataSource.options.type === 'mysql' ? null : new SqliteGate(dataSource);
    this.maxRunMs = MAX_ATTEMPTS * config.dbTimeouts.statementSeconds * 1000 + MAX_TOTAL_BACKOFF_MS;
  }

  get supportsRowLocks(): boolean {
    return this.sqlite === null;
  }

  /** `listener` runs after every run that published an event commits. */
  onEventsCommitted(listener: () => void): void {
    this.publishedListeners.push(listener);
  }

  /**
   * `readCommitted` (MySQL/MariaDB; SQLite has one writer anyway): the transaction takes no gap
   * locks. The outbox relay's claim (`FOR UPDATE SKIP LOCKED`) would otherwise lock the gap where
   * every new outbox row goes, and each publishing transaction, holding its own row locks, would
   * wait for the relay's pass to end.
   */
  async run<T>(work: (tx: Tx) => Promise<T>, options: { readCommitted?: boolean } = {}): Promise<T> {
    const isolation = options.readCommitted && !this.sqlite ? ('READ COMMITTED' as const) : undefined;
    const deadline = Date.now() + this.maxRunMs;
    const hooks: Array<() => unknown> = [];
    const published = { count: 0 };
    const result = await (this.sqlite
      ? this.sqlite.exclusive(() => this.withRetries(work, hooks, published, deadline))
      : this.withRetries(work, hooks, published, deadline, isolation));
    // after the loop: nothing a listener does can re-run or fail work that has committed
    if (published.count > 0) for (const listener of this.publishedListeners) this.runHook(listener);
    for (const hook of hooks) this.runHook(hook);
    return result;
  }

  private async withRetries<T>(
    work: (tx: Tx) => Promise<T>,
    hooks: Array<() => unknown>,
    published: { count: number },
    deadline: number,
    isolation?: 'READ COMMITTED',
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      hooks.length = 0; // hooks of a rolled-back attempt never run
      published.count = 0; // nor did its events happen
      try {
        const inTransaction = async (manager: EntityManager): Promise<T> => {
          // past the deadline before it starts (a long wait for the connection or the SQLite gate): not started at all
          if (Date.now() > deadline) throw new RunTooLongError();
          const publish = async <D extends object>(input: NewDomainEvent<D>): Promise<DomainEvent<D>> => {
            const event = toDomainEvent(input);
            await insertOutboxEvent(manager, event);
            published.count++;
            return event;
          };
          const result = await work({ manager, afterCommit: (fn) => hooks.push(fn), publish });
          if (Date.now() > deadline) throw new RunTooLongError();
          return result;
        };
        return await (isolation ? this.dataSource.transaction(isolation, inTransaction) : this.dataSource.transaction(inTransaction));
      } catch (error) {
        if (error instanceof RunTooLongError) {
          this.logger.warn(`transaction rolled back: still running ${this.maxRunMs} ms after it was asked for`);
          throw new ServiceUnavailableError('The database is busy, retry later');
        }
        if (!isContentionError(error)) throw error;
        if (attempt >= MAX_ATTEMPTS) {
          this.logger.warn(`transaction still contended after ${attempt} attempts`);
          throw new ServiceUnavailableError('The database is busy, retry later');
        }
        const delay = Math.random() * BACKOFF_STEP_MS * attempt;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private runHook(hook: () => unknown): void {
    try {
      const returned = hook();
      // an async hook (an event emitted with emitAsync, say) is not awaited: the answer does not wait for listeners
      if (typeof (returned as PromiseLike<unknown> | undefined)?.then === 'function') {
        Promise.resolve(returned).catch((error: unknown) => this.hookFailed(error));
      }
    } catch (error) {
      this.hookFailed(error);
    }
  }

  private hookFailed(error: unknown): void {
    // driver errors carry SQL and values: only their codes are logged
    const err = isDriverError(error) ? describeDriverError(error) : error;
    this.logger.error({ msg: 'after-commit hook failed; the transaction had committed', err });
  }
}

/** The run is past `maxRunMs`: its attempt must roll back rather than commit. */
class RunTooLongError extends Error {}
