import { AsyncLocalStorage } from 'node:async_hooks';
import type { DataSource } from 'typeorm';

/**
 * better-sqlite3 gives TypeORM one connection and one query runner for everything. While a
 * transaction is open on it, any other query — a registration in another request, say — would
 * run inside that transaction and vanish if it rolled back; a second transaction would nest as
 * a savepoint. (better-sqlite3 runs each statement synchronously, so a transaction that awaits
 * nothing but its own statements finishes within one turn of the event loop and nothing can
 * slip in; the gate keeps that guarantee for a transaction that awaits anything else.) It runs
 * one transaction at a time and holds every query from outside it until it ends.
 */
export class SqliteGate {
  private readonly owner = new AsyncLocalStorage<symbol>();
  private active: { token: symbol; done: Promise<void> } | null = null;

  constructor(dataSource: DataSource) {
    const runner = dataSource.driver.createQueryRunner('master') as unknown as { query: (...args: unknown[]) => Promise<unknown> };
    const query = runner.query.bind(runner);
    runner.query = async (...args: unknown[]) => {
      await this.waitOutside();
      return query(...args);
    };
  }

  /** Runs `work` (which opens and closes one transaction) with the connection to itself. */
  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    // take the gate in the same turn as the check, so two waiters cannot both pass it
    while (this.active) await this.active.done;
    let release!: () => void;
    const token = Symbol('sqlite-transaction');
    this.active = { token, done: new Promise<void>((resolve) => (release = resolve)) };
    try {
      return await this.owner.run(token, work);
    } finally {
      this.active = null;
      release();
    }
  }

  private async waitOutside(): Promise<void> {
    while (this.active && this.owner.getStore() !== this.active.token) await this.active.done;
  }
}
