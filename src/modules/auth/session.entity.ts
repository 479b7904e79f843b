import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A session: one login, its refresh-token family (`RefreshToken.familyId` is this id) and the
 * access tokens issued to it (their `sid` claim). Live while not ended, before its absolute end,
 * and used (refreshed) within `JWT_REFRESH_TTL`.
 */
@Entity('sessions')
export class Session {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId: string;

  /** As the client sent it, control characters removed, at most 255 characters. */
  @Column({ name: 'user_agent', type: 'varchar', length: 255, nullable: true })
  userAgent: string | null;

  /** The client's address as the rate limiter groups it: IPv4 as is, IPv6 by its /64. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;

  /** The login, then each refresh. */
  @Column({ name: 'last_used_at', type: 'datetime', precision: 3 })
  lastUsedAt: Date;

  /** The login + JWT_REFRESH_ABSOLUTE_TTL (the family's absolute end). */
  @Column({ name: 'expires_at', type: 'datetime', precision: 3 })
  expiresAt: Date;

  @Column({ name: 'ended_at', type: 'datetime', precision: 3, nullable: true })
  endedAt: Date | null;
}
