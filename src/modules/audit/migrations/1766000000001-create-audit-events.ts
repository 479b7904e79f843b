import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

export class CreateAuditEvents1766000000001 implements MigrationInterface {
  name = 'CreateAuditEvents1766000000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'audit_events',
        columns: [
          // the outbox event's id: recording an event twice is a no-op (insert-if-absent)
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'type', type: 'varchar', length: '64' },
          { name: 'occurred_at', type: 'datetime', precision: 3 },
          { name: 'actor_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'subject_type', type: 'varchar', length: '32' },
          { name: 'subject_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'request_id', type: 'varchar', length: '128', isNullable: true },
          { name: 'data', type: 'text' },
        ],
      }),
    );
    // each filter walks (value, id) backwards from the cursor; time bounds are id bounds (UUIDv7)
    await queryRunner.createIndices('audit_events', [
      new TableIndex({ name: 'ix_audit_events_type', columnNames: ['type', 'id'] }),
      new TableIndex({ name: 'ix_audit_events_actor', columnNames: ['actor_id', 'id'] }),
      new TableIndex({ name: 'ix_audit_events_subject', columnNames: ['subject_id', 'id'] }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('audit_events');
  }
}
