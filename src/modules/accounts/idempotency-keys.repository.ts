import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, Repository as OrmRepository } from 'typeorm';
import { TypeOrmRepository } from '../../core/database/typeorm.repository';
import { Tx } from '../../core/database/unit-of-work';
import { IdempotencyKey } from './idempotency-key.entity';

/** A claim on a key as its holder knows it: the row and the token that proves it still holds it. */
export interface Claim {
  id: string;
  token: string;
}

@Injectable()
export class IdempotencyKeysRepository extends TypeOrmRepository<IdempotencyKey> {
  constructor(@InjectRepository(IdempotencyKey) orm: OrmRepository<IdempotencyKey>) {
    super(orm, 'key');
  }

  findByKey(callerId: string, keyHash: string): Promise<IdempotencyKey | null> {
    return this.orm.findOne({ where: { callerId, keyHash } });
  }

  /** Takes over a pending claim whose holder died (older than `staleBefore`) under a new token; true when taken. */
  async takeOver(id: string, staleBefore: Date, now: Date, token: string): Promise<boolean> {
    const result = await this.orm
      .createQueryBuilder()
      .update(IdempotencyKey)
      .set({ claimedAt: now, claimToken: token })
      .where('id = :id AND status = :pending AND claimed_at < :staleBefore', { id, pending: 'pending', staleBefore })
      .execute();
    return Boolean(result.affected);
  }

  /**
   * Stores the answer under the claim, in `tx` when given, only while `claim` still holds it
   * (same token, still pending). False when it was taken over: nothing was written. One plain
   * statement: inside a transfer it runs with both accounts locked.
   */
  async complete(claim: Claim, status: number, body: unknown, tx?: Tx): Promise<boolean> {
    const sql =
      "UPDATE idempotency_keys SET status = 'done', response_status = ?, response_body = ? WHERE id = ? AND claim_token = ? AND status = 'pending'";
    const params = [status, JSON.stringify(body), claim.id, claim.token];
    if (tx) {
      if (!tx.manager.queryRunner) throw new Error('a unit of work has a query runner');
      return Boolean((await tx.manager.queryRunner.query(sql, params, true)).affected);
    }
    const runner = this.orm.manager.connection.createQueryRunner();
    try {
      return Boolean((await runner.query(sql, params, true)).affected);
    } finally {
      await runner.release();
    }
  }

  /** Gives the key back (the request may be retried under it), only while `claim` still holds it. */
  async release(claim: Claim): Promise<boolean> {
    const result = await this.orm
      .createQueryBuilder()
      .delete()
      .from(IdempotencyKey)
      .where('id = :id AND claim_token = :token AND status = :pending', { id: claim.id, token: claim.token, pending: 'pending' })
      .execute();
    return Boolean(result.affected);
  }

  async purgeExpired(now: Date): Promise<number> {
    return (await this.orm.delete({ expiresAt: LessThan(now) })).affected ?? 0;
  }
}
