import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

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
