import type { MigrationInterface } from 'typeorm';
import { CreateUsers1764000000000 } from '../modules/users/migrations/1764000000000-create-users';
import { CreateRefreshTokens1764000000001 } from '../modules/auth/migrations/1764000000001-create-refresh-tokens';
import { CreateAccounts1764000000002 } from '../modules/accounts/migrations/1764000000002-create-accounts';
import { FenceIdempotencyClaims1765000000000 } from '../modules/accounts/migrations/1765000000000-fence-idempotency-claims';
import { EmailBinaryCollation1765000000001 } from '../modules/users/migrations/1765000000001-email-binary-collation';
import { CreateOutboxEvents1766000000000 } from '../core/outbox/migrations/1766000000000-create-outbox-events';
import { CreateAuditEvents1766000000001 } from '../modules/audit/migrations/1766000000001-create-audit-events';
import { CreateMailQueue1767000000000 } from '../core/mail/migrations/1767000000000-create-mail-queue';
import { AccountLifecycleUsers1767000000001 } from '../modules/users/migrations/1767000000001-account-lifecycle-users';
import { AccountLifecycleAuth1767000000002 } from '../modules/auth/migrations/1767000000002-account-lifecycle-auth';

type MigrationClass = new () => MigrationInterface;

/**
 * Every migration, oldest first, collected from their owners: each module keeps its own in
 * `src/modules/<name>/migrations/` (core's outbox in `src/core/outbox/migrations/`), and adds one
 * line here. Listed rather than globbed so the app, the CLI and the tests (which run the
 * TypeScript sources) load the same set; the order is the timestamps', across modules.
 */
export const migrations: MigrationClass[] = [
  CreateUsers1764000000000,
  CreateRefreshTokens1764000000001,
  CreateAccounts1764000000002,
  FenceIdempotencyClaims1765000000000,
  EmailBinaryCollation1765000000001,
  CreateOutboxEvents1766000000000,
  CreateAuditEvents1766000000001,
  CreateMailQueue1767000000000,
  AccountLifecycleUsers1767000000001,
  AccountLifecycleAuth1767000000002,
];
