import { ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { CursorQuery, OffsetQuery } from '../../../core/http/pagination.query';
import { ROLES, Role } from '../../../core/auth/auth-user';
import { canonicalEmailTransform } from './user-fields';

export const USER_SORT_FIELDS = ['createdAt', 'email', 'name'] as const;
export type UserSortField = (typeof USER_SORT_FIELDS)[number];

/** `GET /users`: offset mode (`page`, `pageSize`) or cursor mode (`limit`, `after`), never both. */
export class ListUsersQuery extends IntersectionType(OffsetQuery, CursorQuery) {
  @ApiPropertyOptional({ description: 'Exact email, compared in canonical form (trimmed, lower-cased, NFC); accents matter' })
  @IsOptional()
  @canonicalEmailTransform
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
