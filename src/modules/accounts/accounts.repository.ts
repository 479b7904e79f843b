import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository as OrmRepository } from 'typeorm';
import { TypeOrmRepository } from '../../core/database/typeorm.repository';
import { Tx } from '../../core/database/unit-of-work';
import { Account } from './account.entity';

@Injectable()
export class AccountsRepository extends TypeOrmRepository<Account> {
  constructor(@InjectRepository(Account) orm: OrmRepository<Account>) {
    super(orm, 'account');
  }

  /**
   * Reads the accounts inside `tx`, locking their rows (`SELECT … FOR UPDATE`, where the
   * database has row locks) one by one in ascending id order: two transfers in opposite
   * directions take the locks in the same order and cannot deadlock each other.
   */
  async lockMany(tx: Tx, ids: string[], rowLocks: boolean): Promise<Map<string, Account>> {
    const found = new Map<string, Account>();
    for (const id of [...new Set(ids)].sort()) {
      const query = tx.manager.createQueryBuilder(Account, 'account').where('account.id = :id', { id });
      if (rowLocks) query.setLock('pessimistic_write');
      const account = await query.getOne();
      if (account) found.set(id, account);
    }
    return found;
  }

  async addToBalance(tx: Tx, id: string, delta: number, at: Date): Promise<void> {
    await tx.manager
      .createQueryBuilder()
      .update(Account)
      .set({ balance: () => `balance + ${Math.trunc(delta)}`, updatedAt: at })
      .where('id = :id', { id })
      .execute();
  }

  /** True when `ownerId` owns at least one of these accounts. */
  async ownsAny(ownerId: string, ids: string[]): Promise<boolean> {
    return (await this.orm.count({ where: { ownerId, id: In(ids) } })) > 0;
  }

  /** Every account of these owners in one query (no N+1), oldest first. */
  findByOwners(ownerIds: string[]): Promise<Account[]> {
    if (ownerIds.length === 0) return Promise.resolve([]);
    return this.orm.find({ where: { ownerId: In(ownerIds) }, order: { ownerId: 'ASC', id: 'ASC' } });
  }

  /** Locks the owner's accounts, for deleting them together with the owner. */
  async lockByOwner(tx: Tx, ownerId: string, rowLocks: boolean): Promise<Account[]> {
    const query = tx.manager.createQueryBuilder(Account, 'account').where('account.owner_id = :ownerId', { ownerId }).orderBy('account.id');
    if (rowLocks) query.setLock('pessimistic_write');
    return query.getMany();
  }

  async deleteByOwner(tx: Tx, ownerId: string): Promise<void> {
    await tx.manager.delete(Account, { ownerId });
  }
}
