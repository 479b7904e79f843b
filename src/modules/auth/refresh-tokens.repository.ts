import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, LessThan, Repository as OrmRepository } from 'typeorm';
import { TypeOrmRepository } from '../../core/database/typeorm.repository';
import { Tx } from '../../core/database/unit-of-work';
import { RefreshToken } from './refresh-token.entity';

@Injectable()
export class RefreshTokensRepository extends TypeOrmRepository<RefreshToken> {
  constructor(@InjectRepository(RefreshToken) orm: OrmRepository<RefreshToken>) {
    super(orm, 'token');
  }

  /**
   * Inserts `row` only while its user exists with token version `tokenVersion`, in one statement
   * (`INSERT … SELECT … FROM users WHERE id = ? AND token_version = ?`); false when nothing was
   * inserted. So a session ended (password change, logout-all, deletion) after `tokenVersion` was
   * read never gains a live refresh token. On MySQL/MariaDB the user row is read with a shared
   * lock: the statement waits for a change of that row in progress, then reads what it committed.
   * (InnoDB locks the SELECT of an INSERT … SELECT by itself only under REPEATABLE READ; under
   * READ COMMITTED it would read the old version and insert after the change. `LOCK IN SHARE
   * MODE` makes it a locking read at any isolation level.) On SQLite the statement runs alone
   * (`SqliteGate`). `users` is the table this one references (`fk_refresh_tokens_user`).
   */
  async createForTokenVersion(row: RefreshToken, tokenVersion: number, tx?: Tx): Promise<boolean> {
    const { metadata, manager } = this.orm;
    const { driver } = manager.connection;
    const columns = metadata.columns;
    const name = (identifier: string) => driver.escape(identifier);
    const lock = driver.options.type === 'mysql' ? ' LOCK IN SHARE MODE' : '';
    const sql =
      `INSERT INTO ${name(metadata.tableName)} (${columns.map((c) => name(c.databaseName)).join(', ')}) ` +
      `SELECT ${columns.map(() => '?').join(', ')} FROM ${name('users')} WHERE ${name('id')} = ? AND ${name('token_version')} = ?${lock}`;
    // the values as TypeORM's own insert would bind them (dates: UTC strings on SQLite)
    const values: unknown[] = columns.map((column): unknown => driver.preparePersistentValue(column.getEntityValue(row), column));
    if (tx?.manager.queryRunner) {
      const result = await tx.manager.queryRunner.query(sql, [...values, row.userId, tokenVersion], true);
      return Boolean(result.affected);
    }
    const runner = manager.connection.createQueryRunner();
    try {
      const result = await runner.query(sql, [...values, row.userId, tokenVersion], true);
      return Boolean(result.affected);
    } finally {
      await runner.release();
    }
  }

  /**
   * Marks `oldId` used and inserts its successor (inside the caller's transaction). The conditional update
   * decides races: of N concurrent rotations of one token exactly one sees `active`. A revoke-all
   * cannot miss the successor: the update reads `oldId` as committed (a locking read), so after a
   * revoke-all it finds `revoked` and nothing is inserted; a revoke-all that comes later updates
   * the successor too (its update waits for this transaction and reads what it committed). On
   * MariaDB the two can deadlock (this takes the token, then the user row for the foreign key;
   * ending the sessions takes the user row, then the tokens): the unit of work retries the loser.
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

  /** Every token of these families (sessions), in one statement. */
  async revokeFamiliesInTx(tx: Tx, familyIds: readonly string[]): Promise<void> {
    if (familyIds.length === 0) return;
    await tx.manager.update(RefreshToken, { familyId: In([...familyIds]) }, { status: 'revoked' });
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
