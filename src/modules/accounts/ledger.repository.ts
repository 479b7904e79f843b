import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository as OrmRepository } from 'typeorm';
import { TypeOrmRepository } from '../../core/database/typeorm.repository';
import { Tx } from '../../core/database/unit-of-work';
import { LedgerEntry } from './ledger-entry.entity';

interface LedgerRow {
  id: string;
  type: 'deposit' | 'transfer';
  from_account_id: string | null;
  to_account_id: string;
  amount: string | number;
  currency: string;
  created_at: string | Date;
}

/** The (account, id) indexes a history page walks, one per side (migration 1764000000002). */
const HISTORY_SIDES = [
  { column: 'from_account_id', index: 'ix_transactions_from' },
  { column: 'to_account_id', index: 'ix_transactions_to' },
] as const;

const ENTRY_COLUMNS = 'id, type, from_account_id, to_account_id, amount, currency, created_at';

@Injectable()
export class LedgerRepository extends TypeOrmRepository<LedgerEntry> {
  /** The history query, without and with a cursor; parameters: each side's account (and cursor) and limit, then the limit. */
  private readonly historySql: { first: string; after: string };
  /** `INSERT INTO transactions (<every column>) VALUES (?, …)`, written once: the hot path builds no queries. */
  private readonly insertSql: string;

  constructor(@InjectRepository(LedgerEntry) orm: OrmRepository<LedgerEntry>) {
    super(orm, 'entry');
    const mysql = orm.manager.connection.options.type === 'mysql';
    const sql = (cursor: boolean) => {
      const side = ({ column, index }: (typeof HISTORY_SIDES)[number]) =>
        `SELECT * FROM (SELECT ${ENTRY_COLUMNS} FROM transactions ${mysql ? `FORCE INDEX (${index})` : `INDEXED BY ${index}`} ` +
        `WHERE ${column} = ?${cursor ? ' AND id < ?' : ''} ORDER BY id DESC LIMIT ?) AS ${column}_side`;
      return `SELECT * FROM (${HISTORY_SIDES.map(side).join(' UNION ALL ')}) AS merged ORDER BY id DESC LIMIT ?`;
    };
    this.historySql = { first: sql(false), after: sql(true) };
    const { columns } = orm.metadata;
    this.insertSql = `INSERT INTO transactions (${columns.map((c) => c.databaseName).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
  }

  /** One plain INSERT inside `tx`, the values bound as TypeORM's own insert binds them (dates: UTC strings on SQLite). */
  async append(tx: Tx, entry: LedgerEntry): Promise<void> {
    const { driver } = this.orm.manager.connection;
    await tx.manager.query(
      this.insertSql,
      this.orm.metadata.columns.map((column): unknown => driver.preparePersistentValue(column.getEntityValue(entry), column)),
    );
  }

  /**
   * An account's entries newest first, strictly before `beforeId`: a UNION ALL of two keyset
   * scans, one per side of the ledger, each walking its (account, id) index backwards from the
   * cursor, so page 1 000 costs what page 1 does. Each side names its index: left to itself,
   * MariaDB 10.11 reads a side through that index with the account equality alone (`ref`) and
   * walks every newer row of the account before reaching the cursor (of 200 000 rows, a page
   * 100 000 deep read 100 201 index entries in 135 ms; the first page 200); told to use it, the
   * same index is a `range` scan that starts at the cursor (200 entries, 0.5 ms, at any depth).
   * SQLite picks that plan by itself; `INDEXED BY` keeps it so.
   */
  async history(accountId: string, beforeId: string | null, limit: number): Promise<LedgerEntry[]> {
    const n = Math.trunc(limit);
    const params = beforeId ? [accountId, beforeId, n, accountId, beforeId, n, n] : [accountId, n, accountId, n, n];
    const rows = await this.orm.query<LedgerRow[]>(beforeId ? this.historySql.after : this.historySql.first, params);
    return rows.map((row) => ({
      id: row.id,
      type: row.type,
      fromAccountId: row.from_account_id,
      toAccountId: row.to_account_id,
      amount: Number(row.amount),
      currency: row.currency,
      createdAt:
        typeof row.created_at === 'string'
          ? new Date(row.created_at.replace(' ', 'T') + (row.created_at.endsWith('Z') ? '' : 'Z'))
          : row.created_at,
    }));
  }
}
