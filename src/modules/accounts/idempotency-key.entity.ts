import { Column, Entity, PrimaryColumn } from 'typeorm';

export type IdempotencyStatus = 'pending' | 'done';

/** A claimed `Idempotency-Key` of one caller, and the answer given under it. */
@Entity('idempotency_keys')
export class IdempotencyKey {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ name: 'caller_id', type: 'varchar', length: 36 })
  callerId: string;

  /** SHA-256 of the key as sent (keys are up to 255 characters). */
  @Column({ name: 'key_hash', type: 'varchar', length: 64 })
  keyHash: string;

  /** SHA-256 of the request it was first used with: another request under the key is a 422. */
  @Column({ name: 'request_hash', type: 'varchar', length: 64 })
  requestHash: string;

  @Column({ type: 'varchar', length: 8 })
  status: IdempotencyStatus;

  @Column({ name: 'response_status', type: 'int', nullable: true })
  responseStatus: number | null;

  @Column({ name: 'response_body', type: 'text', nullable: true })
  responseBody: string | null;

  /**
   * Random per claim, replaced on takeover: only the holder of the current token may complete or
   * release the claim. Null on rows claimed before tokens existed.
   */
  @Column({ name: 'claim_token', type: 'varchar', length: 36, nullable: true })
  claimToken: string | null;

  /** When the current claim was taken: a pending claim older than the lease was abandoned. */
  @Column({ name: 'claimed_at', type: 'datetime', precision: 3 })
  claimedAt: Date;

  @Column({ name: 'expires_at', type: 'datetime', precision: 3 })
  expiresAt: Date;
}
