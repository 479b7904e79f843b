import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, Repository as OrmRepository } from 'typeorm';
import { TypeOrmRepository } from '../../core/database/typeorm.repository';
import { Tx } from '../../core/database/unit-of-work';
import { RefreshToken } from './refresh-token.entity';

@Injectable()
export class RefreshTokensRepository extends TypeOrmRepository<RefreshToken> {
  constructor(@InjectRepository(RefreshToken) orm: OrmRepository<RefreshToken>) {
    super(orm, 'token');
  }

  /**
   * Marks `oldId` used and inserts its successor (inside the caller's transaction). The conditional update
   * decides races: of N concurrent rotations of one token exactly one sees `active`.
   */
  async rotate(tx: Tx, oldId: string, successor: RefreshToken): Promise<boolean> {
    const result = await tx.manager
        .createQueryBuilder()
        .update(RefreshToken)
        .set({ status: 'used', replacedBy: successor.id })
        .where('id = :id AND status = :active', { id: oldId, active: 'active' })
        .execute();
    if (!result.affected) return false;
    await tx.manager.insert(RefreshToken, successor);
    return true;
  }

  async revokeFamily(familyId: string): Promise<void> {
    await this.orm.update({ familyId }, { status: 'revoked' });
  }

  async revokeAllForUser(userId: string): Promise<void> {
    await this.orm.update({ userId }, { status: 'revoked' });
  }

  async revokeAllForUserInTx(tx: Tx, userId: string): Promise<void> {
    await tx.manager.update(RefreshToken, { userId }, { status: 'revoked' });
  }

  /** Rows past their expiry are useless (the JWT is expired too) and are deleted. */
  async purgeExpired(now: Date): Promise<number> {
    const result = await this.orm.delete({ expiresAt: LessThan(now) });
    return result.affected ?? 0;
  }
}
