import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { BadRequestError } from '../errors/app-error';

/** `page` and `pageSize` of an offset-paginated list (defaults 1 and 20). */
export class OffsetQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 1_000_000, default: 1, description: 'Offset mode' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  page?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20, description: 'Offset mode' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  pageSize?: number;
}

/** `limit` and `after` of a cursor-paginated list. */
export class CursorQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20, description: 'Cursor mode: page size' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: 'Cursor mode: `meta.cursor.next` of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  after?: string;
}

/**
 * A list in cursor mode only: `page` and `pageSize` are accepted here so that `assertCursorMode`
 * answers them with 400 `BAD_REQUEST` (the contract's answer) rather than the validation pipe's
 * 400 `VALIDATION_ERROR` for an unknown field.
 */
export class CursorOnlyQuery extends CursorQuery {
  @ApiPropertyOptional({ deprecated: true, description: 'Not supported here: 400 BAD_REQUEST' })
  @IsOptional()
  page?: unknown;

  @ApiPropertyOptional({ deprecated: true, description: 'Not supported here: 400 BAD_REQUEST' })
  @IsOptional()
  pageSize?: unknown;
}

/** 400 `BAD_REQUEST` when a cursor-only list (`what`, e.g. "Audit events") was asked for a page. */
export function assertCursorMode(query: CursorOnlyQuery, what: string): void {
  if (query.page !== undefined || query.pageSize !== undefined) {
    throw new BadRequestError(`${what} cursor-paginated: use limit and after, not page/pageSize`);
  }
}
