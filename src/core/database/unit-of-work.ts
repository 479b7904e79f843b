import { Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { ServiceUnavailableError } from '../errors/app-error';
import { SqliteGate } from './sqlite-gate';

/** An open database transaction: repositories take it to run their statements inside it. */
export interface Tx {
  readonly manager: EntityManager;
  /** Runs after the transaction commits (never if it rolls back): domain events go here. */
  afterCommit(fn: () => void): void;
}

const MAX_ATTEMPTS = 6;
const RETRYABLE = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'SQLITE_BUSY', 'SQLITE_LOCKED']);

function isRetryable(error: unknown): boolean {
  const driver = (error as { driverError?: { code?: string; errno?: number } }).driverError ?? (error as { code?: string; errno?: number });
  return RETRYABLE.has(String(driver?.code)) || driver?.errno === 1213 || driver?.errno === 1205;
}

/**
 * Runs work in one database transaction. Deadlocks and lock-wait timeouts are retried a bounded
 * number of times with jittered back-off, then surface as 503, never 500. On SQLite (one
 * connection, one writer) a transaction has the connection to itself (`SqliteGate`).
 * Every multi-statement write goes through here, never through `manager.transaction` directly.
 */
@Injectable()
export class UnitOfWork {
  private readonly logger = new Logger(UnitOfWork.name);
  private readonly sqlite: SqliteGate | null;

  constructor(private readonly dataSource: DataSource) {
    this.sqlite = dataSource.options.type === 'mysql' ? null : new SqliteGate(dataSource);
  }

  get supportsRowLocks(): boolean {
    return this.sqlite === null;
  }

  run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.sqlite ? this.sqlite.exclusive(() => this.withRetries(work)) : this.withRetries(work);
  }

  private async withRetries<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const hooks: Array<() => void> = [];
      try {
        const result = await this.dataSource.transaction((manager) => work({ manager, afterCommit: (fn) => hooks.push(fn) }));
        for (const hook of hooks) hook();
        return result;
      } catch (error) {
        if (!isRetryable(error)) throw error;
        if (attempt >= MAX_ATTEMPTS) {
          this.logger.warn(`transaction still contended after ${attempt} attempts`);
          throw new ServiceUnavailableError('The database is busy, retry later');
        }
        const delay = Math.random() * 20 * attempt;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}
