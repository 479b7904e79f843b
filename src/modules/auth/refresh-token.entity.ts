import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export type RefreshTokenStatus = 'active' | 'used' | 'revoked';

/** One issued refresh token. Only its SHA-256 is kept; the token itself is never stored. */
@Entity('refresh_tokens')
export class RefreshToken {
  /** The token's `jti`. */
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  /** Every token rotated from one login shares a family; reuse revokes the whole family. */
  @Index('ix_refresh_tokens_family')
  @Column({ name: 'family_id', type: 'varchar', length: 36 })
  familyId: string;

  @Index('ix_refresh_tokens_user')
  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId: string;

  @Column({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash: string;

  @Column({ type: 'varchar', length: 8 })
  status: RefreshTokenStatus;

  /** The token issued in this one's place when it was rotated. */
  @Column({ name: 'replaced_by', type: 'varchar', length: 36, nullable: true })
  replacedBy: string | null;

  @Column({ name: 'expires_at', type: 'datetime', precision: 3 })
  expiresAt: Date;

  /** The family's absolute end (login + JWT_REFRESH_ABSOLUTE_TTL), however often it rotates. */
  @Column({ name: 'family_expires_at', type: 'datetime', precision: 3 })
  familyExpiresAt: Date;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;
}
