import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, IsNull, LessThan, MoreThan, Repository as OrmRepository } from 'typeorm';
import { TypeOrmRepository } from '../../core/database/typeorm.repository';
import { Tx } from '../../core/database/unit-of-work';
import { Session } from './session.entity';

/** Which sessions are live at `now`: not ended, before their absolute end, refreshed within the refresh TTL. */
export interface Liveness {
  now: Date;
  /** A session last used before this has no refresh token left. */
  usedSince: Date;
}

@Injectable()
export class SessionsRepository extends TypeOrmRepository<Session> {
  constructor(@InjectRepository(Session) orm: OrmRepository<Session>) {
    super(orm, 'session');
  }

  async createInTx(tx: Tx, session: Session): Promise<void> {
    await tx.manager.insert(Session, session);
  }

  /** A refresh: the session was used now. */
  async touchInTx(tx: Tx, id: string, at: Date): Promise<void> {
    await tx.manager.update(Session, { id }, { lastUsedAt: at });
  }

  /** The user's live sessions, newest first (ids are UUIDv7), at most `limit` when given. */
  findLive(userId: string, live: Liveness, limit?: number): Promise<Session[]> {
    return this.orm.find({
      where: { userId, endedAt: IsNull(), expiresAt: MoreThan(live.now), lastUsedAt: MoreThan(live.usedSince) },
      order: { id: 'DESC' },
      take: limit,
    });
  }

  /** The user's sessions not ended and used since `usedSince`, live or past their absolute end. */
  findUnended(userId: string, usedSince: Date): Promise<Session[]> {
    return this.orm.find({ where: { userId, endedAt: IsNull(), lastUsedAt: MoreThan(usedSince) }, order: { id: 'DESC' } });
  }

  /** Marks these of the user's sessions ended (those not ended yet). */
  async endInTx(tx: Tx, userId: string, ids: readonly string[], at: Date): Promise<void> {
    if (ids.length === 0) return;
    await tx.manager.update(Session, { userId, id: In([...ids]), endedAt: IsNull() }, { endedAt: at });
  }

  async endAllInTx(tx: Tx, userId: string, at: Date): Promise<void> {
    await tx.manager.update(Session, { userId, endedAt: IsNull() }, { endedAt: at });
  }

  /** Sessions past their absolute end, and ended ones, are of no use to anyone: deleted. */
  async purge(now: Date): Promise<number> {
    const expired = await this.orm.delete({ expiresAt: LessThan(now) });
    const ended = await this.orm.delete({ endedAt: LessThan(now) });
    return (expired.affected ?? 0) + (ended.affected ?? 0);
  }
}
