import { bearer, Session } from './factories';
import { json, TestApp } from './test-app';
import { waitFor } from './wait-for';

export interface AuditEventView {
  id: string;
  type: string;
  occurredAt: string;
  actorId: string | null;
  subjectType: string;
  subjectId: string | null;
  requestId: string | null;
  data: Record<string, unknown>;
}

/** Every audit event matching `query`, newest first, walked page by page through the cursor. */
export async function auditEvents(t: TestApp, admin: Session, query: Record<string, string> = {}, limit = 100): Promise<AuditEventView[]> {
  const all: AuditEventView[] = [];
  let after: string | null = null;
  for (;;) {
    const params = new URLSearchParams({ ...query, limit: String(limit), ...(after ? { after } : {}) });
    const res = await t.request({ method: 'GET', url: `/api/v1/audit-events?${params.toString()}`, headers: bearer(admin.accessToken) });
    if (res.statusCode !== 200) throw new Error(`audit list failed: ${res.statusCode} ${res.body}`);
    const body = json(res);
    all.push(...(body.data as AuditEventView[]));
    after = body.meta.cursor.next as string | null;
    if (!after) return all;
  }
}

/**
 * Polls (never sleeps) until an event matching `match` is listed, among those the `query` filters
 * (`type`, `subjectId`, … : one cheap request a poll, however many events there are). A test of
 * the contract's 2 s bound passes it as `timeoutMs`; the default leaves a loaded machine room.
 */
export async function awaitAuditEvent(
  t: TestApp,
  admin: Session,
  match: (event: AuditEventView) => boolean,
  { query = {}, timeoutMs = 10_000 }: { query?: Record<string, string>; timeoutMs?: number } = {},
): Promise<AuditEventView> {
  let found: AuditEventView | undefined;
  await waitFor(
    async () => {
      found = (await auditEvents(t, admin, query)).find(match);
      return found !== undefined;
    },
    timeoutMs,
    25,
  );
  return found!;
}
