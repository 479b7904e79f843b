import { MigrationInterface, QueryRunner } from 'typeorm';

const BATCH = 1000;

/** As `canonicalEmail` wrote it when this migration was made (a migration must not change later). */
const canonical = (email: string) => email.trim().toLowerCase().normalize('NFC');

/**
 * Emails are compared byte for byte: the application stores one canonical spelling (trimmed,
 * lower-cased, NFC) and decides alone which spellings are one account. MySQL/MariaDB's default
 * utf8mb4_unicode_ci made "ádà@…" equal to "ada@…" (one could log into the other, and the unique
 * index refused the second registration); utf8mb4_bin does not. SQLite's default BINARY collation
 * is exact already. Rows stored before NFC was applied are rewritten; two rows that become one
 * address stop the migration, naming their ids, for an operator to resolve.
 */
export class EmailBinaryCollation1765000000001 implements MigrationInterface {
  name = 'EmailBinaryCollation1765000000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (isMysql(queryRunner)) {
      // the unique index uq_users_email is rebuilt under the new collation
      await queryRunner.query('ALTER TABLE `users` MODIFY `email` VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL');
    }
    let after = '';
    for (;;) {
      const rows = (await queryRunner.query('SELECT id, email FROM users WHERE id > ? ORDER BY id LIMIT ?', [after, BATCH])) as Array<{
        id: string;
        email: string;
      }>;
      for (const row of rows) {
        const email = canonical(row.email);
        if (email === row.email) continue;
        const owners = (await queryRunner.query('SELECT id FROM users WHERE email = ?', [email])) as Array<{ id: string }>;
        if (owners.length > 0) {
          throw new Error(`users ${owners[0]!.id} and ${row.id} have the same canonical email: merge or rename one, then migrate again`);
        }
        await queryRunner.query('UPDATE users SET email = ? WHERE id = ?', [email, row.id]);
      }
      if (rows.length < BATCH) return;
      after = rows.at(-1)!.id;
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // back to the table's default collation; fails while two emails differ only by accents
    if (isMysql(queryRunner)) await queryRunner.query('ALTER TABLE `users` MODIFY `email` VARCHAR(254) NOT NULL');
  }
}

function isMysql(queryRunner: QueryRunner): boolean {
  const type = queryRunner.connection.options.type;
  return type === 'mysql' || type === 'mariadb';
}
