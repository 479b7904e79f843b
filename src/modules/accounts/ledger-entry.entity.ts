import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintColumn } from '../../core/database/bigint-column';

export type TransactionType = 'deposit' | 'transfer';

/** One ledger row (the API's Transaction): immutable once written. */
@Entity('transactions')
export class LedgerEntry {
  /** UUIDv7: ordering by id is ordering by time. */
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'varchar', length: 8 })
  type: TransactionType;

  @Column({ name: 'from_account_id', type: 'varchar', length: 36, nullable: true })
  fromAccountId: string | null;

  @Column({ name: 'to_account_id', type: 'varchar', length: 36 })
  toAccountId: string;

  @Column({ type: 'bigint', transformer: bigintColumn })
  amount: number;

  @Column({ type: 'varchar', length: 3 })
  currency: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;
}
