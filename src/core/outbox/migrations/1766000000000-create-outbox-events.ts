import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/** The transactional outbox (core/outbox). Times are Unix milliseconds: one format on every driver. */
export class CreateOutboxEvents1766000000000 implements MigrationInterface {
  name = 'CreateOutboxEvents1766000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'outbox_events',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'type', type: 'varchar', length: '64' },
          { name: 'payload', type: 'text' },
          { name: 'created_at', type: 'bigint' },
          { name: 'delivered_at', type: 'bigint', isNullable: true },
          { name: 'streamed_at', type: 'bigint', isNullable: true },
        ],
      }),
    );
    // each pass claims the oldest undelivered (unstreamed) rows: an index seek on NULL, in id order
    await queryRunner.createIndices('outbox_events', [
      new TableIndex({ name: 'ix_outbox_events_delivered', columnNames: ['delivered_at', 'id'] }),
      new TableIndex({ name: 'ix_outbox_events_streamed', columnNames: ['streamed_at', 'id'] }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('outbox_events');
  }
}
