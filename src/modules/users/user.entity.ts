import { Column, Entity, PrimaryColumn, ValueTransformer } from 'typeorm';
import { Role } from '../../core/auth/auth-user';

/** Roles are stored as ",admin,user," so a role filter is a portable LIKE '%,admin,%'. */
const rolesColumn: ValueTransformer = {
  to: (roles: Role[] | undefined) => (roles === undefined ? undefined : `,${[...roles].sort().join(',')},`),
  from: (value: string | null) => (value ? value.split(',').filter(Boolean) : []),
};

/** A session that ended: its access tokens fail until `until` (ms), after which they have all expired anyway. */
export interface EndedSession {
  id: string;
  until: number;
}

const endedSessionsColumn: ValueTransformer = {
  to: (sessions: EndedSession[] | undefined) =>
    sessions === undefined ? undefined : sessions.length === 0 ? null : JSON.stringify(sessions),
  from: (value: string | null) => (value ? (JSON.parse(value) as EndedSession[]) : []),
};

@Entity('users')
export class User {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  /**
   * Canonical (`canonicalEmail`), compared byte for byte: utf8mb4_bin on MySQL/MariaDB (migration
   * 1765000000001), SQLite's default BINARY. Not declared here: the entity serves both drivers.
   */
  @Column({ type: 'varchar', length: 254 })
  email: string;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ name: 'password_hash', type: 'varchar', length: 255 })
  passwordHash: string;

  @Column({ type: 'varchar', length: 64, transformer: rolesColumn })
  roles: Role[];

  /** Bumped by logout-all, password and role changes: access tokens carrying an older value die. */
  @Column({ name: 'token_version', type: 'int' })
  tokenVersion: number;

  /** When the current email was proven to be the user's (a verification link, a password reset); null: not yet. */
  @Column({ name: 'email_verified_at', type: 'datetime', precision: 3, nullable: true })
  emailVerifiedAt: Date | null;

  /**
   * Sessions ended while access tokens they issued may still be unexpired, each with the time
   * after which none can be (`EndedSession`). Read with the user, so the per-request check of an
   * access token's session costs nothing more than the user read it already does.
   */
  @Column({ name: 'ended_sessions', type: 'text', nullable: true, transformer: endedSessionsColumn })
  endedSessions: EndedSession[];

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt: Date;
}

export function rolesFilter(role: Role): { contains: string } {
  return { contains: `,${role},` };
}
