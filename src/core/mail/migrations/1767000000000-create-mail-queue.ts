import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * The outgoing mail queue (core/mail): one row per mail to send, never its text or any token
 * (the composer makes those at send time). Times are Unix milliseconds, as in outbox_events.
 */
export class CreateMailQueue1767000000000 implements MigrationInterface {
  name = 'CreateMailQueue1767000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'mail_queue',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'kind', type: 'varchar', length: '64' },
          { name: 'recipient', type: 'varchar', length: '254' },
          { name: 'user_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'actor_id', type: 'varchar', length: '36', isNullable: true },
          // an inbound X-Request-Id is up to 128 characters (core/http/request-context.ts)
          { name: 'request_id', type: 'varchar', length: '128', isNullable: true },
          { name: 'attempts', type: 'int', default: 0 },
          // due time while pending; a claimed job's lease end while it is being sent
          { name: 'next_attempt_at', type: 'bigint' },
          { name: 'done_at', type: 'bigint', isNullable: true },
          // 'sent', 'dropped' (the composer had nothing to send), 'failed' (given up)
          { name: 'outcome', type: 'varchar', length: '16', isNullable: true },
          { name: 'last_error', type: 'varchar', length: '500', isNullable: true },
          { name: 'created_at', type: 'bigint' },
        ],
      }),
    );
    // the relay's look for due jobs (done_at IS NULL AND next_attempt_at <= now) and the purge (done_at < cutoff)
    await queryRunner.createIndex(
      'mail_queue',
      new TableIndex({ name: 'ix_mail_queue_due', columnNames: ['done_at', 'next_attempt_at', 'id'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('mail_queue');
  }
}
