import { Column, Entity, PrimaryColumn, ValueTransformer } from 'typeorm';
import { Role } from '../../core/auth/auth-user';

/** Roles are stored as ",admin,user," so a role filter is a portable LIKE '%,admin,%'. */
const rolesColumn: ValueTransformer = {
  to: (roles: Role[] | undefined) => (roles === undefined ? undefined : `,${[...roles].sort().join(',')},`),
  from: (value: string | null) => (value ? value.split(',').filter(Boolean) : []),
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

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt: Date;
}

export function rolesFilter(role: Role): { contains: string } {
  return { contains: `,${role},` };
}
