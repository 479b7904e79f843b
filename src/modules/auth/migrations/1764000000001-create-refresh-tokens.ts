import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex } from 'typeorm';

export class CreateRefreshTokens1764000000001 implements MigrationInterface {
  name = 'CreateRefreshTokens1764000000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'refresh_tokens',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'family_id', type: 'varchar', length: '36' },
          { name: 'user_id', type: 'varchar', length: '36' },
          { name: 'token_hash', type: 'varchar', length: '64' },
          { name: 'status', type: 'varchar', length: '8' },
          { name: 'replaced_by', type: 'varchar', length: '36', isNullable: true },
          { name: 'expires_at', type: 'datetime', precision: 3 },
          { name: 'family_expires_at', type: 'datetime', precision: 3 },
          { name: 'created_at', type: 'datetime', precision: 3 },
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'fk_refresh_tokens_user',
            columnNames: ['user_id'],
            referencedTableName: 'users',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
    await queryRunner.createIndices('refresh_tokens', [
      new TableIndex({ name: 'ix_refresh_tokens_family', columnNames: ['family_id'] }),
      new TableIndex({ name: 'ix_refresh_tokens_user', columnNames: ['user_id'] }),
      new TableIndex({ name: 'ix_refresh_tokens_expires_at', columnNames: ['expires_at'] }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('refresh_tokens');
  }
}
