import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ROLES, Role } from '../../../core/auth/auth-user';

export const USER_SORT_FIELDS = ['createdAt', 'email', 'name'] as const;
export type UserSortField = (typeof USER_SORT_FIELDS)[number];

/** `GET /users`: offset mode (`page`, `pageSize`) or cursor mode (`limit`, `after`), never both. */
export class ListUsersQuery {
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

  @ApiPropertyOptional({ minimum: 1, maximum: 100, description: 'Cursor mode: page size' })
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

  @ApiPropertyOptional({ description: 'Exact email (case-insensitive)' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toLowerCase() : value))
  @IsString()
  @MaxLength(254)
  email?: string;

  @ApiPropertyOptional({ enum: ROLES })
  @IsOptional()
  @IsIn(ROLES)
  role?: Role;

  @ApiPropertyOptional({ enum: USER_SORT_FIELDS, default: 'createdAt' })
  @IsOptional()
  @IsIn(USER_SORT_FIELDS)
  orderBy?: UserSortField;

  @ApiPropertyOptional({ enum: ['asc', 'desc'], default: 'asc' })
  @IsOptional()
  @IsIn(['asc', 'desc'])
  orderDir?: 'asc' | 'desc';

  @ApiPropertyOptional({ enum: ['accounts'], description: "Embed each user's `accounts` (one extra query for the whole page)" })
  @IsOptional()
  @IsIn(['accounts'])
  include?: 'accounts';
}
