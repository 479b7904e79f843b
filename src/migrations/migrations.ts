import type { MigrationInterface } from 'typeorm';
import { CreateUsers1764000000000 } from './1764000000000-create-users';
import { CreateRefreshTokens1764000000001 } from './1764000000001-create-refresh-tokens';
import { CreateAccounts1764000000002 } from './1764000000002-create-accounts';
import { FenceIdempotencyClaims1765000000000 } from './1765000000000-fence-idempotency-claims';
import { EmailBinaryCollation1765000000001 } from './1765000000001-email-binary-collation';
import { CreateOutboxEvents1766000000000 } from '../core/outbox/migrations/1766000000000-create-outbox-events';
import { CreateAuditEvents1766000000001 } from './1766000000001-create-audit-events';

type MigrationClass = new () => MigrationInterface;

/**
 * Every migration, oldest first. Listed here rather than globbed so the app, the CLI and the
 * tests (which run the TypeScript sources) load the same set. Each feature module adds its own.
 */
export const migrations: MigrationClass[] = [
  CreateUsers1764000000000,
  CreateRefreshTokens1764000000001,
  CreateAccounts1764000000002,
  FenceIdempotencyClaims1765000000000,
  EmailBinaryCollation1765000000001,
  CreateOutboxEvents1766000000000,
  CreateAuditEvents1766000000001,
];
