import { ApiProperty } from '@nestjs/swagger';
import { Role } from '../../../core/auth/auth-user';
import type { Embedded } from '../../../core/http/embeds';
import type { User } from '../user.entity';

/** A user as cached and as passed between modules: never the password hash. */
export interface UserRecord {
  id: string;
  email: string;
  name: string;
  roles: Role[];
  tokenVersion: number;
  emailVerifiedAt: string | null;
  /** Sessions whose access tokens fail although unexpired and of the current version (ended one by one). */
  endedSessions: string[];
  createdAt: string;
  updatedAt: string;
}

/** The stored user without its password hash; ended sessions whose tokens have all expired left out. */
export function toUserRecord(user: User, now = Date.now()): UserRecord {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    roles: user.roles,
    tokenVersion: user.tokenVersion,
    emailVerifiedAt: user.emailVerifiedAt?.toISOString() ?? null,
    endedSessions: (user.endedSessions ?? []).filter((session) => session.until > now).map((session) => session.id),
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

  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'When the current email was verified; null: not (yet)' })
  emailVerifiedAt: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt: string;
}

/** A user with what `?include=` embedded into it (`Embeds`). */
export type UserView = UserRecord & { embedded?: Embedded };

/**
 * Names every field a client sees, so a new column can never leak; plus what `?include=` embedded
 * (members the OpenAPI document adds to `UserResponse`, see `@ApiEmbeds`).
 */
export function toUserResponse(user: UserView): UserResponse {
  const response: UserResponse = {
    id: user.id,
    email: user.email,
    name: user.name,
    roles: user.roles,
    emailVerifiedAt: user.emailVerifiedAt,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  };
  return user.embedded ? { ...response, ...user.embedded } : response;
}
