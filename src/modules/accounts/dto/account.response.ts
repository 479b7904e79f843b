import { ApiProperty } from '@nestjs/swagger';
import { Account } from '../account.entity';

export class AccountResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ format: 'uuid' })
  ownerId: string;

  @ApiProperty({ example: 'Savings' })
  name: string;

  @ApiProperty({ example: 'EUR', pattern: '^[A-Z]{3}$' })
  currency: string;

  @ApiProperty({ example: 12_500, description: 'Minor units (cents), an integer' })
  balance: number;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt: string;
}

export function toAccountResponse(account: Account): AccountResponse {
  return {
    id: account.id,
    ownerId: account.ownerId,
    name: account.name,
    currency: account.currency,
    balance: account.balance,
    createdAt: account.createdAt.toISOString(),
    updatedAt: account.updatedAt.toISOString(),
  };
}
