import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsISO8601, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { CursorQuery } from '../../../core/http/pagination.query';

/** UUIDs compare as stored: lower case. */
const lower = Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value));

/** Cursor mode only; `page`/`pageSize` are accepted here just to answer them with 400 BAD_REQUEST. */
export class ListAuditEventsQuery extends CursorQuery {
  @ApiPropertyOptional({ example: 'transfer.completed' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  type?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @lower
  @IsUUID('all')
  actorId?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @lower
  @IsUUID('all')
  subjectId?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Inclusive' })
  @IsOptional()
  @IsISO8601({ strict: true })
  since?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Exclusive' })
  @IsOptional()
  @IsISO8601({ strict: true })
  until?: string;

  @ApiPropertyOptional({ deprecated: true, description: 'Not supported here: 400 BAD_REQUEST' })
  @IsOptional()
  page?: unknown;

  @ApiPropertyOptional({ deprecated: true, description: 'Not supported here: 400 BAD_REQUEST' })
  @IsOptional()
  pageSize?: unknown;
}
