import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection, createConnection } from 'mysql2/promise';
import { ADMIN, ADMIN_ENV } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv, target } from '../support/isolated-env';
import { freePort, KeepAliveClient, MAIN, runServer, ServerProcess } from '../support/server-process';
import { waitFor } from '../support/wait-for';

/*
 * SIGTERM on the built server while clients keep their connections alive (as browsers, proxies
 * and HTTP client libraries do): every request in flight is answered, then the process exits 0,
 * well before the 10 s deadline after which main.ts gives up (exit 1).
 */
const DEADLINE_MS = 10_000;

describe('graceful shutdown with kept-alive clients', () => {
  let env: IsolatedEnv;
  let cwd: string;
  let server: ServerProcess | null = null;
  let client: KeepAliveClient | null = null;

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" (npm run test:e2e does)`);
    env = await createIsolatedEnv();
  });

  afterEach(() => {
    client?.close();
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  });

  afterAll(async () => {
    await env?.destroy();
  });

  async function start(): Promise<{ server: ServerProcess; client: KeepAliveClient }> {
    cwd = mkdtempSync(join(tmpdir(), 'app-shutdown-'));
    const port = await freePort();
    server = runServer(
      { ...env.env, ...ADMIN_ENV, RATE_LIMIT: '0', AUTH_RATE_LIMIT: '0', LOG_LEVEL: 'info', PORT: String(port), HOST: '127.0.0.1' },
      cwd,
    );
    client = new KeepAliveClient(port);
    const c = client;
    await waitFor(async () => (await c.send('GET', '/health/ready').catch(() => null))?.status === 200, 30_000);
    return { server, client };
  }

  async function terminate(s: ServerProcess): Promise<{ signalledAt: number }> {
    const signalledAt = Date.now();
    s.child.kill('SIGTERM');
    await waitFor(() => s.output().includes('shutting down'), 5_000);
    return { signalledAt };
  }

  async function expectCleanExit(s: ServerProcess, signalledAt: number): Promise<void> {
    expect(await s.exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(DEADLINE_MS);
    expect(s.output()).toContain('shutdown complete');
    expect(s.output()).not.toContain('shutdown deadline passed');
  }

  async function login(c: KeepAliveClient, email: string, password: string): Promise<string> {
    const res = await c.send('POST', '/api/v1/auth/login', { email, password });
    if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
    return res.body.data.accessToken as string;
  }

  async function userWithMoney(c: KeepAliveClient, amount: number) {
    const admin = { authorization: `Bearer ${await login(c, ADMIN.email, ADMIN.password)}` };
    const email = `shutdown-${Date.now()}@example.com`;
    const password = 'Lantern-Quarry-81';
    const registered = await c.send('POST', '/api/v1/auth/register', { email, password, name: 'Shutdown' });
    if (registered.status !== 201) throw new Error(`register failed: ${registered.status}`);
    const auth = { authorization: `Bearer ${await login(c, email, password)}` };
    const open = async () => (await c.send('POST', '/api/v1/accounts', { name: 'Main', currency: 'EUR' }, auth)).body.data.id as string;
    const [from, to] = [await open(), await open()];
    expect((await c.send('POST', `/api/v1/accounts/${from}/deposits`, { amount }, admin)).status).toBe(201);
    return { auth, from, to };
  }

  it('requests in flight at SIGTERM are answered and kept-alive sockets do not hold the process', async () => {
    const { server: s, client: c } = await start();
    // idle kept-alive sockets of clients answered earlier
    await Promise.all(Array.from({ length: 5 }, () => c.send('GET', '/health/live')));
    // requests in flight: their bodies still arriving when the signal lands
    const inFlight = Array.from({ length: 10 }, (_, i) =>
      c.start('POST', '/api/v1/no-such-route', { 'x-request-id': `in-flight-${i}` }, JSON.stringify({ n: i })),
    );
    // a full round trip after them: the server has read their headers by then
    expect((await c.send('GET', '/health/live')).status).toBe(200);
    expect(c.sockets).toBeGreaterThanOrEqual(10);

    const { signalledAt } = await terminate(s);
    for (const request of inFlight) request.finish();
    const answers = await Promise.all(inFlight.map((request) => request.answer));
    expect(answers.map((answer) => [answer.status, answer.body.meta.requestId])).toEqual(answers.map((_, i) => [404, `in-flight-${i}`]));
    for (const answer of answers) expect(answer.headers.connection).toBe('close');
    await expectCleanExit(s, signalledAt);
  });

  it('a response still being written at SIGTERM does not leave its kept-alive socket holding the process', async () => {
    const { server: s, client: c } = await start();
    // a large answer read slowly: the server is still writing it when the signal lands
    const res = await c.open('/docs/swagger-ui-bundle.js');
    expect(res.statusCode).toBe(200);
    const { signalledAt } = await terminate(s);
    let received = 0;
    res.on('data', (chunk: Buffer) => (received += chunk.length));
    await new Promise((resolve) => res.on('end', resolve).resume());
    expect(received).toBeGreaterThan(1_000_000);
    await expectCleanExit(s, signalledAt);
  });

  const itMysql = target.mysql ? it : it.skip;

  itMysql('30 transfers waiting on LOCK TABLES at SIGTERM all complete (one ledger row each) and the process exits 0', async () => {
    const { server: s, client: c } = await start();
    const { auth, from, to } = await userWithMoney(c, 1_000);
    const locker: Connection = await createConnection(env.databaseUrl);
    let unlocked = false;
    try {
      await locker.query('LOCK TABLES accounts READ');
      const transfers = Array.from({ length: 30 }, () =>
        c.send('POST', '/api/v1/transfers', { fromAccountId: from, toAccountId: to, amount: 1 }, auth),
      );
      await waitFor(async () => {
        const [rows] = await locker.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND STATE = ?', [
          'Waiting for table metadata lock',
        ]);
        return Number((rows as Array<{ n: number }>)[0]!.n) >= 10; // the pool's connections, all waiting
      });
      // and the other 20 wait for a connection: every transfer has reached the server (one still on its way at
      // SIGTERM is rightly refused, 503 "shutting down"; on a loaded machine one was)
      await waitFor(async () => {
        const metrics = String((await c.send('GET', '/metrics')).body);
        return Number(/^db_pool_connections\{state="waiting"\} (\d+)$/m.exec(metrics)?.[1] ?? 0) >= 20;
      });

      const { signalledAt } = await terminate(s);
      await locker.query('UNLOCK TABLES');
      unlocked = true;
      const answers = await Promise.all(transfers);
      expect(answers.map((answer) => answer.status)).toEqual(Array.from({ length: 30 }, () => 201));
      await expectCleanExit(s, signalledAt);

      const [[balance]] = (await locker.query('SELECT balance FROM accounts WHERE id = ?', [from])) as unknown as [[{ balance: number }]];
      expect(Number(balance.balance)).toBe(1_000 - 30);
      const [[ledger]] = (await locker.query("SELECT COUNT(*) AS n FROM transactions WHERE type = 'transfer' AND from_account_id = ?", [
        from,
      ])) as unknown as [[{ n: number }]];
      expect(Number(ledger.n)).toBe(30);
    } finally {
      if (!unlocked) await locker.query('UNLOCK TABLES');
      await locker.end();
    }
  });

  itMysql('transfers whose clients hung up while they waited on a lock still finish before the database closes at SIGTERM', async () => {
    const { server: s, client: c } = await start();
    const { auth, from, to } = await userWithMoney(c, 1_000);
    const locker: Connection = await createConnection(env.databaseUrl);
    let unlocked = false;
    try {
      await locker.query('LOCK TABLES accounts READ');
      const transfers = Array.from({ length: 5 }, () =>
        c.send('POST', '/api/v1/transfers', { fromAccountId: from, toAccountId: to, amount: 1 }, auth).catch(() => 'hung up'),
      );
      await waitFor(async () => {
        const [rows] = await locker.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND STATE = ?', [
          'Waiting for table metadata lock',
        ]);
        return Number((rows as Array<{ n: number }>)[0]!.n) >= 5;
      });
      // the clients give up: their sockets close, so closing the server waits for nothing
      c.close();
      expect(await Promise.all(transfers)).toEqual(Array.from({ length: 5 }, () => 'hung up'));

      const { signalledAt } = await terminate(s);
      // the handlers still wait on the lock; the database must not close under them
      await waitFor(() => s.output().includes('shutting down'), 5_000);
      await locker.query('UNLOCK TABLES');
      unlocked = true;
      await expectCleanExit(s, signalledAt);
      // nothing went wrong: no error or warning but the slow-query notice the lock itself earns past 1 s on a slow machine
      const complaints = s
        .output()
        .split('\n')
        .filter((line) => /"level":"(error|warn)"/.test(line) && !line.includes('"msg":"slow database query"'));
      expect(complaints).toEqual([]);

      const [[ledger]] = (await locker.query("SELECT COUNT(*) AS n FROM transactions WHERE type = 'transfer' AND from_account_id = ?", [
        from,
      ])) as unknown as [[{ n: number }]];
      expect(Number(ledger.n)).toBe(5);
      const [[balance]] = (await locker.query('SELECT balance FROM accounts WHERE id = ?', [from])) as unknown as [[{ balance: number }]];
      expect(Number(balance.balance)).toBe(1_000 - 5);
    } finally {
      if (!unlocked) await locker.query('UNLOCK TABLES');
      await locker.end();
    }
  });
});
