import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, LessThan, MoreThan, Repository as OrmRepository } from 'typeorm';
import { TypeOrmRepository } from '../../core/database/typeorm.repository';
import { Tx } from '../../core/database/unit-of-work';
import { OneTimeToken, OneTimeTokenPurpose } from './one-time-token.entity';

@Injectable()
export class OneTimeTokensRepository extends TypeOrmRepository<OneTimeToken> {
  constructor(@InjectRepository(OneTimeToken) orm: OrmRepository<OneTimeToken>) {
    super(orm, 'token');
  }

  /**
   * Stores a new token and voids the user's unused tokens of the same purpose, in `tx`. On
   * MariaDB the UPDATE locks the (user, purpose) index range, so two mints for one user run one
   * after the other and the later voids the earlier (or they deadlock and the unit of work retries one).
   */
  async mintInTx(tx: Tx, token: OneTimeToken): Promise<void> {
    await this.voidAllInTx(tx, token.userId, token.purpose, token.createdAt);
    await tx.manager.insert(OneTimeToken, token);
  }

  /** Voids the user's unused tokens of this purpose (the sessions ended, the password changed: an old reset link must not outlive that). */
  async voidAllInTx(tx: Tx, userId: string, purpose: OneTimeTokenPurpose, at: Date): Promise<void> {
    await tx.manager.update(OneTimeToken, { userId, purpose, usedAt: IsNull(), voidedAt: IsNull() }, { voidedAt: at });
  }

  /** True when the user has a usable token of this purpose made after `since` (a link mailed moments ago). */
  async hasRecent(tx: Tx, userId: string, purpose: OneTimeTokenPurpose, since: Date, now: Date): Promise<boolean> {
    const count = await tx.manager.count(OneTimeToken, {
      where: { userId, purpose, usedAt: IsNull(), voidedAt: IsNull(), createdAt: MoreThan(since), expiresAt: MoreThan(now) },
    });
    return count > 0;
  }

  /** The token with this hash and purpose if it can still be used at `now`: unused, not voided, unexpired. */
  findUsable(tokenHash: string, purpose: OneTimeTokenPurpose, now: Date): Promise<OneTimeToken | null> {
    return this.orm.findOne({ where: { tokenHash, purpose, usedAt: IsNull(), voidedAt: IsNull(), expiresAt: MoreThan(now) } });
  }

  /**
   * Uses the token, in `tx`, if it is still usable: one conditional UPDATE, so of two concurrent
   * uses exactly one changes the row (the other waits for its commit and then finds it used). False: not usable.
   */
  async useInTx(tx: Tx, id: string, now: Date): Promise<boolean> {
    const result = await tx.manager.update(
      OneTimeToken,
      { id, usedAt: IsNull(), voidedAt: IsNull(), expiresAt: MoreThan(now) },
      { usedAt: now },
    );
    return Boolean(result.affected);
  }

  /** Expired tokens can only ever be refused: deleted (a used or voided one is refused just as an unknown one is). */
  async purgeExpired(now: Date): Promise<number> {
    const result = await this.orm.delete({ expiresAt: LessThan(now) });
    return result.affected ?? 0;
  }
}
