import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUUID, Matches, Max, Min } from 'class-validator';
import { CursorOnlyQuery, OffsetQuery } from '../../../core/http/pagination.query';
import { CodePoints } from '../../../core/http/validation-decorators';
import { MAX_AMOUNT } from '../money';

const trim = Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value));
/** UUIDs compare as stored: lower case. */
const lower = Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value));

export class CreateAccountDto {
  @ApiProperty({ example: 'Savings', minLength: 1, maxLength: 100 })
  @trim
  @IsString()
  @CodePoints(1, 100, 'name must be 1 to 100 characters')
  name: string;

  @ApiProperty({ example: 'EUR', pattern: '^[A-Z]{3}$', description: 'ISO 4217 code, upper case' })
  @IsString()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be 3 upper-case letters' })
  currency: string;
}

/** Amounts are integers of minor units: strings, floats, zero and negatives are 400. */
function AmountField(): PropertyDecorator {
  return (target, key) => {
    ApiProperty({ example: 2_500, minimum: 1, maximum: MAX_AMOUNT, type: 'integer', description: 'Minor units (cents)' })(target, key);
    IsInt({ message: 'amount must be an integer number of minor units' })(target, key);
    Min(1)(target, key);
    Max(MAX_AMOUNT)(target, key);
  };
}

export class DepositDto {
  @AmountField()
  amount: number;
}

export class TransferDto {
  @ApiProperty({ format: 'uuid' })
  @lower
  @IsUUID('all')
  fromAccountId: string;

  @ApiProperty({ format: 'uuid' })
  @lower
  @IsUUID('all')
  toAccountId: string;

  @AmountField()
  amount: number;
}

export class ListAccountsQuery extends OffsetQuery {
  @ApiPropertyOptional({ format: 'uuid', description: 'Admins: any owner; others: only themselves' })
  @IsOptional()
  @lower
  @IsUUID('all')
  ownerId?: string;
}

/** Cursor mode only (`CursorOnlyQuery`). */
export class HistoryQuery extends CursorOnlyQuery {}
