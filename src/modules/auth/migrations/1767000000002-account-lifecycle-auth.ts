import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex } from 'typeorm';

/**
 * Account lifecycle, auth's part:
 * - `sessions`: one per login (a refresh-token family, `refresh_tokens.family_id` = `sessions.id`),
 *   with when it started and was last used (a refresh), the user agent and the client's address
 *   as the rate limiter groups it. Families live before this migration become sessions (their
 *   agent and address unknown).
 * - `one_time_tokens`: password-reset and email-verification tokens, stored as SHA-256 hashes
 *   only, with their purpose, user, the email the link went to, expiry, use and voiding.
 */
export class AccountLifecycleAuth1767000000002 implements MigrationInterface {
  name = 'AccountLifecycleAuth1767000000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'sessions',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'user_id', type: 'varchar', length: '36' },
          { name: 'user_agent', type: 'varchar', length: '255', isNullable: true },
          { name: 'ip', type: 'varchar', length: '64', isNullable: true },
          { name: 'created_at', type: 'datetime', precision: 3 },
          { name: 'last_used_at', type: 'datetime', precision: 3 },
          { name: 'expires_at', type: 'datetime', precision: 3 },
          { name: 'ended_at', type: 'datetime', precision: 3, isNullable: true },
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'fk_sessions_user',
            columnNames: ['user_id'],
            referencedTableName: 'users',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
    // a user's sessions newest first (ids are UUIDv7: creation order)
    await queryRunner.createIndices('sessions', [
      new TableIndex({ name: 'ix_sessions_user', columnNames: ['user_id', 'id'] }),
      new TableIndex({ name: 'ix_sessions_expires_at', columnNames: ['expires_at'] }),
    ]);
    await queryRunner.query(
      'INSERT INTO sessions (id, user_id, user_agent, ip, created_at, last_used_at, expires_at, ended_at) ' +
        'SELECT family_id, user_id, NULL, NULL, MIN(created_at), MAX(created_at), MAX(family_expires_at), NULL ' +
        "FROM refresh_tokens WHERE status = 'active' GROUP BY family_id, user_id",
    );

    await queryRunner.createTable(
      new Table({
        name: 'one_time_tokens',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'user_id', type: 'varchar', length: '36' },
          { name: 'purpose', type: 'varchar', length: '32' },
          { name: 'token_hash', type: 'varchar', length: '64' },
          { name: 'email', type: 'varchar', length: '254' },
          { name: 'created_at', type: 'datetime', precision: 3 },
          { name: 'expires_at', type: 'datetime', precision: 3 },
          { name: 'used_at', type: 'datetime', precision: 3, isNullable: true },
          { name: 'voided_at', type: 'datetime', precision: 3, isNullable: true },
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'fk_one_time_tokens_user',
            columnNames: ['user_id'],
            referencedTableName: 'users',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
    await queryRunner.createIndices('one_time_tokens', [
      new TableIndex({ name: 'uq_one_time_tokens_hash', columnNames: ['token_hash'], isUnique: true }),
      new TableIndex({ name: 'ix_one_time_tokens_user', columnNames: ['user_id', 'purpose'] }),
      new TableIndex({ name: 'ix_one_time_tokens_expires_at', columnNames: ['expires_at'] }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('one_time_tokens');
    await queryRunner.dropTable('sessions');
  }
}
