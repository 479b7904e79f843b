import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, ADMIN_ENV } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv } from '../support/isolated-env';
import { freePort, KeepAliveClient, MAIN, runServer, ServerProcess } from '../support/server-process';
import { waitFor } from '../support/wait-for';

/*
 * Crash safety: the built server takes a burst of transfers and is SIGKILLed the moment the
 * answers are in, before its relay can have delivered them all; restarted on the same database,
 * it delivers what was left. Every 201 then has exactly one transfer.completed, and every
 * transfer in the ledger (committed, whether or not its answer got out) has exactly one.
 */
const BURST = 40;

describe('audit: nothing lost to a crash', () => {
  let env: IsolatedEnv;
  let cwd: string;
  let server: ServerProcess | null = null;
  let client: KeepAliveClient | null = null;

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" (npm run test:e2e does)`);
    env = await createIsolatedEnv();
    cwd = mkdtempSync(join(tmpdir(), 'app-audit-crash-'));
  });

  afterAll(async () => {
    client?.close();
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
    await env?.destroy();
  });

  async function start(): Promise<KeepAliveClient> {
    const port = await freePort();
    server = runServer({ ...env.env, ...ADMIN_ENV, RATE_LIMIT: '0', AUTH_RATE_LIMIT: '0', PORT: String(port), HOST: '127.0.0.1' }, cwd);
    const c = new KeepAliveClient(port);
    await waitFor(async () => (await c.send('GET', '/health/ready').catch(() => null))?.status === 200, 30_000);
    client = c;
    return c;
  }

  const auth = (token: string) => ({ authorization: `Bearer ${token}` });

  it('every 201 of a burst cut short by SIGKILL has exactly one transfer.completed after a restart', async () => {
    let c = await start();
    const adminToken = (await c.send('POST', '/api/v1/auth/login', { email: ADMIN.email, password: ADMIN.password })).body.data
      .accessToken as string;
    const user = { email: `crash-${Date.now()}@example.com`, password: 'crash-pass-123', name: 'Crash' };
    expect((await c.send('POST', '/api/v1/auth/register', user)).status).toBe(201);
    const token = (await c.send('POST', '/api/v1/auth/login', { email: user.email, password: user.password })).body.data
      .accessToken as string;
    const open = async () => (await c.send('POST', '/api/v1/accounts', { name: 'A', currency: 'EUR' }, auth(token))).body.data.id as string;
    const [from, to] = [await open(), await open()];
    expect((await c.send('POST', `/api/v1/accounts/${from}/deposits`, { amount: 1_000 }, auth(adminToken))).status).toBe(201);

    const sent = Array.from({ length: BURST }, () =>
      c.send('POST', '/api/v1/transfers', { fromAccountId: from, toAccountId: to, amount: 1 }, auth(token)),
    );
    // killed at the first 201: transfers are committing, the relay is behind, some answers never leave
    await Promise.any(sent.map(async (answer) => ((await answer).status === 201 ? true : Promise.reject(new Error('not 201')))));
    server!.child.kill('SIGKILL');
    const answers = await Promise.allSettled(sent);
    await server!.exit;
    client!.close();
    const created = answers.flatMap((a) => (a.status === 'fulfilled' && a.value.status === 201 ? [a.value.body.data.id as string] : []));
    expect(created.length).toBeGreaterThan(0);

    c = await start();
    const adminAgain = (await c.send('POST', '/api/v1/auth/login', { email: ADMIN.email, password: ADMIN.password })).body.data
      .accessToken as string;
    const completed = async () => {
      const ids: string[] = [];
      let after: string | null = null;
      do {
        const query: string = `type=transfer.completed&limit=100${after ? `&after=${after}` : ''}`;
        const page = (await c.send('GET', `/api/v1/audit-events?${query}`, undefined, auth(adminAgain))).body;
        ids.push(...(page.data as Array<{ subjectId: string }>).map((e) => e.subjectId));
        after = page.meta.cursor.next as string | null;
      } while (after);
      return ids;
    };
    // the committed transfers, as the ledger has them (answered or not)
    const ledger: string[] = [];
    for (let after: string | null = null, first = true; first || after; first = false) {
      const page = (
        await c.send('GET', `/api/v1/accounts/${from}/transactions?limit=100${after ? `&after=${after}` : ''}`, undefined, auth(adminAgain))
      ).body;
      ledger.push(...(page.data as Array<{ id: string; type: string }>).filter((e) => e.type === 'transfer').map((e) => e.id));
      after = page.meta.cursor.next as string | null;
    }
    expect(ledger).toEqual(expect.arrayContaining(created));
    // poll until the count settles at the ledger's (with a deadline)
    let events: string[] = [];
    await waitFor(async () => (events = await completed()).length >= ledger.length, 10_000, 50);
    expect([...events].sort()).toEqual([...ledger].sort());
    for (const id of created) expect(events.filter((e) => e === id)).toHaveLength(1);
  });
});
