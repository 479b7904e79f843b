import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex } from 'typeorm';

export class CreateAccounts1764000000002 implements MigrationInterface {
  name = 'CreateAccounts1764000000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    const createdAt = { name: 'created_at', type: 'datetime', precision: 3 };
    await queryRunner.createTable(
      new Table({
        name: 'accounts',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'owner_id', type: 'varchar', length: '36' },
          { name: 'name', type: 'varchar', length: '100' },
          { name: 'currency', type: 'varchar', length: '3' },
          { name: 'balance', type: 'bigint', default: 0 },
          createdAt,
          { name: 'updated_at', type: 'datetime', precision: 3 },
        ],
        // a user with accounts is deleted only after their (empty) accounts are
        foreignKeys: [
          new TableForeignKey({
            name: 'fk_accounts_owner',
            columnNames: ['owner_id'],
            referencedTableName: 'users',
            referencedColumnNames: ['id'],
            onDelete: 'RESTRICT',
          }),
        ],
      }),
    );
    await queryRunner.createIndex('accounts', new TableIndex({ name: 'ix_accounts_owner_id', columnNames: ['owner_id', 'id'] }));

    // the ledger outlives accounts: no foreign keys, ids only
    await queryRunner.createTable(
      new Table({
        name: 'transactions',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'type', type: 'varchar', length: '8' },
          { name: 'from_account_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'to_account_id', type: 'varchar', length: '36' },
          { name: 'amount', type: 'bigint' },
          { name: 'currency', type: 'varchar', length: '3' },
          createdAt,
        ],
      }),
    );
    // history pages walk (account, id) backwards: deep pages cost what the first does
    await queryRunner.createIndices('transactions', [
      new TableIndex({ name: 'ix_transactions_from', columnNames: ['from_account_id', 'id'] }),
      new TableIndex({ name: 'ix_transactions_to', columnNames: ['to_account_id', 'id'] }),
    ]);

    await queryRunner.createTable(
      new Table({
        name: 'idempotency_keys',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'caller_id', type: 'varchar', length: '36' },
          { name: 'key_hash', type: 'varchar', length: '64' },
          { name: 'request_hash', type: 'varchar', length: '64' },
          { name: 'status', type: 'varchar', length: '8' },
          { name: 'response_status', type: 'int', isNullable: true },
          { name: 'response_body', type: 'text', isNullable: true },
          { name: 'claimed_at', type: 'datetime', precision: 3 },
          { name: 'expires_at', type: 'datetime', precision: 3 },
        ],
      }),
    );
    await queryRunner.createIndices('idempotency_keys', [
      new TableIndex({ name: 'uq_idempotency_keys_caller_key', columnNames: ['caller_id', 'key_hash'], isUnique: true }),
      new TableIndex({ name: 'ix_idempotency_keys_expires_at', columnNames: ['expires_at'] }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('idempotency_keys');
    await queryRunner.dropTable('transactions');
    await queryRunner.dropTable('accounts');
  }
}
