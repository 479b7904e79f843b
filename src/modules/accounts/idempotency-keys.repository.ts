import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, Repository as OrmRepository } from 'typeorm';
import { TypeOrmRepository } from '../../core/database/typeorm.repository';
import { Tx } from '../../core/database/unit-of-work';
import { IdempotencyKey } from './idempotency-key.entity';

@Injectable()
export class IdempotencyKeysRepository extends TypeOrmRepository<IdempotencyKey> {
  constructor(@InjectRepository(IdempotencyKey) orm: OrmRepository<IdempotencyKey>) {
    super(orm, 'key');
  }

  findByKey(callerId: string, keyHash: string): Promise<IdempotencyKey | null> {
    return this.orm.findOne({ where: { callerId, keyHash } });
  }

  /** Takes over a pending claim whose holder died (older than `staleBefore`); true when taken. */
  async takeOver(id: string, staleBefore: Date, now: Date): Promise<boolean> {
    const result = await this.orm
      .createQueryBuilder()
      .update(IdempotencyKey)
      .set({ claimedAt: now })
      .where('id = :id AND status = :pending AND claimed_at < :staleBefore', { id, pending: 'pending', staleBefore })
      .execute();
    return Boolean(result.affected);
  }

  async complete(id: string, status: number, body: unknown, tx?: Tx): Promise<void> {
    const manager = tx?.manager ?? this.orm.manager;
    await manager.update(IdempotencyKey, { id }, { status: 'done', responseStatus: status, responseBody: JSON.stringify(body) });
  }

  async purgeExpired(now: Date): Promise<number> {
    return (await this.orm.delete({ expiresAt: LessThan(now) })).affected ?? 0;
  }
}
