import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, QueryRunner, Repository as OrmRepository } from 'typeorm';
import { TypeOrmRepository } from '../../core/database/typeorm.repository';
import { Tx } from '../../core/database/unit-of-work';
import { Account } from './account.entity';

/** A change of one account's balance. */
export interface BalanceDelta {
  id: string;
  delta: number;
}

@Injectable()
export class AccountsRepository extends TypeOrmRepository<Account> {
  /** `SELECT <every column> FROM accounts`, written once: the hot path builds no queries. */
  private readonly selectAll: string;

  constructor(@InjectRepository(Account) orm: OrmRepository<Account>) {
    super(orm, 'account');
    this.selectAll = `SELECT ${orm.metadata.columns.map((column) => column.databaseName).join(', ')} FROM accounts`;
  }

  async createInTx(tx: Tx, account: Account): Promise<void> {
    await tx.manager.insert(Account, account);
  }

  /**
   * Reads the accounts inside `tx` in one statement, locking their rows where the database has
   * row locks (`SELECT … WHERE id IN (…) ORDER BY id FOR UPDATE`). InnoDB reads an IN list on the
   * primary key as one range per id, in index order (ascending; no filesort, since the ORDER BY is
   * the index's own), and locks each row as it reads it: the lower id is locked before the higher
   * one is waited for, whatever order the ids were given in, so two transfers in opposite
   * directions cannot deadlock each other. Each range is an equality on the unique key, so only
   * those rows are locked (no gap locks; checked on MariaDB 10.11 at REPEATABLE READ and READ
   * COMMITTED; test/e2e/transfer-statements.e2e-spec.ts watches the order). Keyed by id; an id
   * that does not exist is missing.
   */
  async lockMany(tx: Tx, ids: string[], rowLocks: boolean): Promise<Map<string, Account>> {
    const unique = [...new Set(ids)];
    const rows = await tx.manager.query<Array<Record<string, unknown>>>(
      `${this.selectAll} WHERE id IN (${unique.map(() => '?').join(', ')}) ORDER BY id${rowLocks ? ' FOR UPDATE' : ''}`,
      unique,
    );
    return new Map(rows.map((row) => this.hydrate(row)).map((account) => [account.id, account]));
  }

  /**
   * Adds each delta to its account's balance and stamps `updatedAt`, every account in one
   * statement (a transfer's debit and credit together). The rows must be locked by `lockMany` in
   * the same transaction: all of them exist, so fewer rows changed is a bug, thrown (rolled back).
   */
  async addToBalances(tx: Tx, deltas: readonly BalanceDelta[], at: Date): Promise<void> {
    const { driver } = this.orm.manager.connection;
    const updatedAt = this.orm.metadata.findColumnWithPropertyName('updatedAt')!;
    const result = await runner(tx).query(
      `UPDATE accounts SET balance = CASE id ${deltas.map(() => 'WHEN ? THEN balance + ?').join(' ')} END, updated_at = ? ` +
        `WHERE id IN (${deltas.map(() => '?').join(', ')})`,
      [
        ...deltas.flatMap(({ id, delta }) => [id, Math.trunc(delta)]),
        driver.preparePersistentValue(at, updatedAt),
        ...deltas.map(({ id }) => id),
      ],
      true,
    );
    if (result.affected !== deltas.length) throw new Error(`balance update changed ${result.affected} of ${deltas.length} accounts`);
  }

  /** The account's currency without locking it, or null when there is no such account. */
  async currencyOf(id: string): Promise<string | null> {
    const rows = await this.orm.manager.query<Array<{ currency: string }>>('SELECT currency FROM accounts WHERE id = ?', [id]);
    return rows[0]?.currency ?? null;
  }

  /**
   * A transfer's debit and credit in one statement, each row changed only if its checks hold:
   * the source in `currency`, owned by `ownerId` (null: anyone's, an admin), holding `amount`; the
   * destination in `currency`, staying within `maxBalance`. True when both rows changed; false when
   * fewer did (the caller rolls back: one row may have changed). Locks both rows (primary key, in order).
   */
  async moveIfAllowed(
    tx: Tx,
    move: { from: string; to: string; amount: number; currency: string; ownerId: string | null; maxBalance: number; at: Date },
  ): Promise<boolean> {
    const { driver } = this.orm.manager.connection;
    const updatedAt = this.orm.metadata.findColumnWithPropertyName('updatedAt')!;
    const amount = Math.trunc(move.amount);
    const owner = move.ownerId === null ? '' : ' AND owner_id = ?';
    const result = await runner(tx).query(
      'UPDATE accounts SET balance = CASE id WHEN ? THEN balance - ? WHEN ? THEN balance + ? END, updated_at = ? ' +
        `WHERE id IN (?, ?) AND currency = ? AND CASE id WHEN ? THEN balance >= ?${owner} WHEN ? THEN balance <= ? END`,
      [
        move.from,
        amount,
        move.to,
        amount,
        driver.preparePersistentValue(move.at, updatedAt),
        move.from,
        move.to,
        move.currency,
        move.from,
        amount,
        ...(move.ownerId === null ? [] : [move.ownerId]),
        move.to,
        move.maxBalance - amount,
      ],
      true,
    );
    return result.affected === 2;
  }

  /** True when `ownerId` owns at least one of these accounts. */
  async ownsAny(ownerId: string, ids: string[]): Promise<boolean> {
    return (await this.orm.count({ where: { ownerId, id: In(ids) } })) > 0;
  }

  /** Every account of these owners in one query (no N+1), oldest first. */
  findByOwners(ownerIds: string[]): Promise<Account[]> {
    if (ownerIds.length === 0) return Promise.resolve([]);
    return this.orm.find({ where: { ownerId: In(ownerIds) }, order: { ownerId: 'ASC', id: 'ASC' } });
  }

  /** Locks the owner's accounts, for deleting them together with the owner. */
  async lockByOwner(tx: Tx, ownerId: string, rowLocks: boolean): Promise<Account[]> {
    const query = tx.manager.createQueryBuilder(Account, 'account').where('account.owner_id = :ownerId', { ownerId }).orderBy('account.id');
    if (rowLocks) query.setLock('pessimistic_write');
    return query.getMany();
  }

  async deleteByOwner(tx: Tx, ownerId: string): Promise<void> {
    await tx.manager.delete(Account, { ownerId });
  }

  /** An entity from a raw row, each column converted as TypeORM's own reads convert it (dates, BIGINT). */
  private hydrate(row: Record<string, unknown>): Account {
    const { driver } = this.orm.manager.connection;
    const account = this.orm.metadata.create() as Account;
    for (const column of this.orm.metadata.columns)
      column.setEntityValue(account, driver.prepareHydratedValue(row[column.databaseName], column));
    return account;
  }
}

/** The query runner of the unit of work's transaction. */
function runner(tx: Tx): QueryRunner {
  if (!tx.manager.queryRunner) throw new Error('a unit of work has a query runner');
  return tx.manager.queryRunner;
}
