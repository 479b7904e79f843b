import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository as OrmRepository } from 'typeorm';
import { TypeOrmRepository } from '../../core/database/typeorm.repository';
import { Tx } from '../../core/database/unit-of-work';
import { User } from './user.entity';

@Injectable()
export class UsersRepository extends TypeOrmRepository<User> {
  constructor(@InjectRepository(User) orm: OrmRepository<User>) {
    super(orm, 'user', ['email']);
  }

  /** In `tx` when given (a caller holding a transaction must not wait for a second connection). */
  findByEmail(email: string, tx?: Tx): Promise<User | null> {
    const manager = tx?.manager ?? this.orm.manager;
    return manager.createQueryBuilder(User, 'user').where('user.email = :email', { email }).getOne();
  }

  findByIdInTx(tx: Tx, id: string): Promise<User | null> {
    return tx.manager.createQueryBuilder(User, 'user').where('user.id = :id', { id }).getOne();
  }

  /**
   * The user, its row locked until `tx` ends (MySQL/MariaDB `FOR UPDATE`; SQLite's transaction is
   * exclusive already), or null.
   */
  lockInTx(tx: Tx, id: string, rowLocks: boolean): Promise<User | null> {
    const query = tx.manager.createQueryBuilder(User, 'user').where('user.id = :id', { id });
    return (rowLocks ? query.setLock('pessimistic_write') : query).getOne();
  }

  async createInTx(tx: Tx, user: User): Promise<void> {
    await tx.manager.insert(User, user);
  }

  /** False when the user does not exist. */
  async updateInTx(tx: Tx, id: string, patch: Partial<User>): Promise<boolean> {
    const result = await tx.manager.update(User, { id }, patch);
    return Boolean(result.affected);
  }

  async deleteInTx(tx: Tx, id: string): Promise<boolean> {
    const result = await tx.manager.delete(User, { id });
    return Boolean(result.affected);
  }

  /**
   * The new hash and a token-version bump in one statement, only while the stored version is
   * `tokenVersion` (the one read with the hash that was verified); false when it moved or the user
   * does not exist. The UPDATE reads the committed row (waiting for a change in flight), at any
   * isolation level.
   */
  async setPasswordInTx(tx: Tx, id: string, tokenVersion: number, passwordHash: string, at: Date): Promise<boolean> {
    const result = await tx.manager
      .createQueryBuilder()
      .update(User)
      .set({ passwordHash, tokenVersion: () => 'token_version + 1', updatedAt: at })
      .where('id = :id AND token_version = :tokenVersion', { id, tokenVersion })
      .execute();
    return Boolean(result.affected);
  }

  /** Atomically bumps the token version (and updatedAt), in `tx` when given; false when the user does not exist. */
  async bumpTokenVersion(id: string, at: Date, tx?: Tx): Promise<boolean> {
    const result = await (tx?.manager ?? this.orm.manager)
      .createQueryBuilder()
      .update(User)
      .set({ tokenVersion: () => 'token_version + 1', updatedAt: at })
      .where('id = :id', { id })
      .execute();
    return Boolean(result.affected);
  }
}
