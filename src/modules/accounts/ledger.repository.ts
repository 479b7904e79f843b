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

@Injectable()
export class LedgerRepository extends TypeOrmRepository<LedgerEntry> {
  constructor(@InjectRepository(LedgerEntry) orm: OrmRepository<LedgerEntry>) {
    super(orm, 'entry');
  }

  async append(tx: Tx, entry: LedgerEntry): Promise<void> {
    await tx.manager.insert(LedgerEntry, entry);
  }

  /**
   * An account's entries newest first, strictly before `beforeId`. Each side of the UNION walks
   * its own (account, id) index backwards from the cursor, so page 1 000 costs what page 1 does.
   */
  async history(accountId: string, beforeId: string | null, limit: number): Promise<LedgerEntry[]> {
    const before = beforeId ? 'AND id < ?' : '';
    const side = (column: string) =>
      `SELECT * FROM (SELECT id, type, from_account_id, to_account_id, amount, currency, created_at FROM transactions ` +
      `WHERE ${column} = ? ${before} ORDER BY id DESC LIMIT ${Number(limit)}) AS ${column}_side`;
    const params = beforeId ? [accountId, beforeId, accountId, beforeId] : [accountId, accountId];
    const rows = await this.orm.query<LedgerRow[]>(
      `SELECT * FROM (${side('from_account_id')} UNION ALL ${side('to_account_id')}) AS merged ORDER BY id DESC LIMIT ${Number(limit)}`,
      params,
    );
    return rows.map((row) => ({
      id: row.id,
      type: row.type,
      fromAccountId: row.from_account_id,
      toAccountId: row.to_account_id,
      amount: Number(row.amount),
      currency: row.currency,
      createdAt: typeof row.created_at === 'string' ? new Date(row.created_at.replace(' ', 'T') + (row.created_at.endsWith('Z') ? '' : 'Z')) : row.created_at,
    }));
  }
}
