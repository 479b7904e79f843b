import { ApiHideProperty, ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
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

  /** What other modules embed into each user (`Embeds`); the OpenAPI document lists the registered names. */
  @ApiHideProperty()
  @IsOptional()
  @IsString()
  @MaxLength(64)
  include?: string;
}
