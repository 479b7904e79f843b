import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * Each claim on an idempotency key carries a random token, replaced when a stale claim is taken
 * over. Completing or releasing a claim is conditional on still holding its token, so a holder
 * that was taken over can never complete (or delete) its successor's claim.
 */
export class FenceIdempotencyClaims1765000000000 implements MigrationInterface {
  name = 'FenceIdempotencyClaims1765000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // null for claims taken before this migration: their holders, if any still run, can no longer
    // complete them; a retry takes the claim over once its lease has passed
    await queryRunner.addColumn(
      'idempotency_keys',
      new TableColumn({ name: 'claim_token', type: 'varchar', length: '36', isNullable: true }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('idempotency_keys', 'claim_token');
  }
}
