import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class ResponseMetaDto {
  @ApiProperty({ example: '0193a1f2-7c3e-7d1a-9b2e-5f0c3a9e1d42', description: 'Echoed in the X-Request-Id header' })
  requestId: string;

  @ApiProperty({ example: '2026-11-24T14:50:02.123Z', format: 'date-time' })
  timestamp: string;
}

export class OffsetPaginationDto {
  @ApiProperty({ example: 1, minimum: 1 })
  page: number;

  @ApiProperty({ example: 20, minimum: 1, maximum: 100 })
  pageSize: number;

  @ApiProperty({ example: 42, minimum: 0 })
  total: number;

  @ApiProperty({ example: 3, minimum: 0, description: 'ceil(total / pageSize)' })
  totalPages: number;
}

export class CursorDto {
  @ApiProperty({ type: String, nullable: true, description: 'Pass back as `after`; null on the last page' })
  next: string | null;

  @ApiProperty({ example: 20, minimum: 1, maximum: 100 })
  limit: number;
}

export class OffsetPageMetaDto extends ResponseMetaDto {
  @ApiProperty({ type: OffsetPaginationDto })
  pagination: OffsetPaginationDto;
}

export class CursorPageMetaDto extends ResponseMetaDto {
  @ApiProperty({ type: CursorDto })
  cursor: CursorDto;
}

export class ErrorBodyDto {
  @ApiProperty({ example: 'VALIDATION_ERROR', description: 'UPPER_SNAKE error code (see the Errors table)' })
  code: string;

  @ApiProperty({ example: 'The request is not valid' })
  message: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { email: ['email must be an email'] },
    description: 'Field paths to messages for VALIDATION_ERROR; {resource, id} for NOT_FOUND',
  })
  details?: Record<string, unknown>;
}

export class ErrorEnvelopeDto {
  @ApiProperty({ type: ErrorBodyDto })
  error: ErrorBodyDto;

  @ApiProperty({ type: ResponseMetaDto })
  meta: ResponseMetaDto;
}
