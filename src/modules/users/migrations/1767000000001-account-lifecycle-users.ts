import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * Account lifecycle, users' part: when the email was verified (null: never, or changed since),
 * and the sessions ended while their access tokens may still be unexpired (`ended_sessions`, a
 * short JSON list read with the user: the per-request check stays one cached read).
 */
export class AccountLifecycleUsers1767000000001 implements MigrationInterface {
  name = 'AccountLifecycleUsers1767000000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('users', [
      new TableColumn({ name: 'email_verified_at', type: 'datetime', precision: 3, isNullable: true }),
      new TableColumn({ name: 'ended_sessions', type: 'text', isNullable: true }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('users', 'ended_sessions');
    await queryRunner.dropColumn('users', 'email_verified_at');
  }
}
