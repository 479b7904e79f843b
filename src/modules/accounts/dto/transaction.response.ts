import { ApiProperty } from '@nestjs/swagger';
import { LedgerEntry } from '../ledger-entry.entity';

export class TransactionResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ enum: ['deposit', 'transfer'] })
  type: 'deposit' | 'transfer';

  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'null for deposits' })
  fromAccountId: string | null;

  @ApiProperty({ format: 'uuid' })
  toAccountId: string;

  @ApiProperty({ example: 2_500, description: 'Minor units (cents), an integer' })
  amount: number;

  @ApiProperty({ example: 'EUR' })
  currency: string;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;
}

export function toTransactionResponse(entry: LedgerEntry): TransactionResponse {
  return {
    id: entry.id,
    type: entry.type,
    fromAccountId: entry.fromAccountId,
    toAccountId: entry.toAccountId,
    amount: entry.amount,
    currency: entry.currency,
    createdAt: entry.createdAt.toISOString(),
  };
}
