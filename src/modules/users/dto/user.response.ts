import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { AccountResponse } from '../../accounts';
import { Role } from '../../../core/auth/auth-user';
import type { User } from '../user.entity';

/** A user as cached and as passed between modules: never the password hash. */
export interface UserRecord {
  id: string;
  email: string;
  name: string;
  roles: Role[];
  tokenVersion: number;
  createdAt: string;
  updatedAt: string;
}

/** The stored user without its password hash. */
export function toUserRecord(user: User): UserRecord {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    roles: user.roles,
    tokenVersion: user.tokenVersion,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}

export class UserResponse {
  @ApiProperty({ format: 'uuid', example: '0193a1f2-7c3e-7d1a-9b2e-5f0c3a9e1d42' })
  id: string;

  @ApiProperty({ example: 'ada@example.com' })
  email: string;

  @ApiProperty({ example: 'Ada Lovelace' })
  name: string;

  @ApiProperty({ enum: ['user', 'admin'], isArray: true, example: ['user'] })
  roles: Role[];

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt: string;

  @ApiPropertyOptional({ type: [AccountResponse], description: 'With `include=accounts` only' })
  accounts?: AccountResponse[];
}

/** A user with their accounts embedded (`GET /users?include=accounts`). */
export type UserView = UserRecord & { accounts?: AccountResponse[] };

/** Names every field a client sees, so a new column can never leak. */
export function toUserResponse(user: UserView): UserResponse {
  const response: UserResponse = {
    id: user.id,
    email: user.email,
    name: user.name,
    roles: user.roles,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  };
  if (user.accounts) response.accounts = user.accounts;
  return response;
}
