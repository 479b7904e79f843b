import { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIsolatedEnv, IsolatedEnv } from '../support/isolated-env';
import { freePort, MAIN, runServer as run } from '../support/server-process';
import { waitFor } from '../support/wait-for';

/*
 * The built server as an operator runs it (`node dist/src/main.js`; `npm run test:e2e` builds
 * first): zero set-up start, configuration refusal, graceful shutdown on SIGTERM (with kept-alive
 * clients: shutdown.e2e-spec.ts).
 */

async function get(port: number, path: string): Promise<{ status: number; body: string } | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, body: await res.text() };
  } catch {
    return null;
  }
}

describe('the built server process', () => {
  let cwd: string;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" (npm run test:e2e does)`);
  });

  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), 'app-process-'));
  });

  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  });

  it('starts with zero set-up (no .env, embedded SQLite, memory cache) and serves /docs and /health/ready', async () => {
    const port = await freePort();
    const server = run({ PORT: String(port), HOST: '127.0.0.1' }, cwd);
    children.push(server.child);

    await waitFor(async () => (await get(port, '/health/ready'))?.status === 200, 30_000);
    const ready = JSON.parse((await get(port, '/health/ready'))!.body);
    expect(ready.data).toEqual({ status: 'ok', checks: { database: 'up', cache: 'up' } });
    expect((await get(port, '/docs'))!.status).toBe(200);
    expect(existsSync(join(cwd, 'data', 'app.sqlite'))).toBe(true);
    // logs are JSON lines
    const firstLine = server
      .output()
      .split('\n')
      .find((line) => line.startsWith('{'));
    expect(JSON.parse(firstLine!)).toHaveProperty('level');

    server.child.kill('SIGTERM');
    expect(await server.exit).toEqual({ code: 0, signal: null });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ DATABASE_URL: 'postgres://localhost/db' }, 'DATABASE_URL'],
    [{ RATE_LIMIT: '-1' }, 'RATE_LIMIT'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ NODE_ENV: 'production' }, 'JWT_ACCESS_SECRET must be set'],
    [{ NODE_ENV: 'production', JWT_ACCESS_SECRET: 'short', JWT_REFRESH_SECRET: 'x'.repeat(40) }, 'JWT_ACCESS_SECRET must be at least 32'],
  ])('refuses to start on a bad value (%j), naming the variable', async (env, expected) => {
    const server = run(env, cwd);
    children.push(server.child);
    const { code } = await server.exit;
    expect(code).toBe(1);
    expect(server.output()).toContain(expected);
    expect(existsSync(join(cwd, 'data'))).toBe(false);
  });

  describe('graceful shutdown', () => {
    let isolated: IsolatedEnv;

    beforeAll(async () => {
      isolated = await createIsolatedEnv();
    });

    afterAll(async () => {
      await isolated.destroy();
    });

    it('on SIGTERM stops accepting, finishes the in-flight request, closes pool and Redis, exits 0 within 10 s', async () => {
      const port = await freePort();
      const server = run({ ...isolated.env, LOG_LEVEL: 'info', PORT: String(port), HOST: '127.0.0.1' }, cwd);
      children.push(server.child);
      await waitFor(async () => (await get(port, '/health/ready'))?.status === 200, 30_000);

      // a request whose body is still arriving when SIGTERM lands
      const socket = connect(port, '127.0.0.1');
      let response = '';
      socket.on('data', (chunk) => (response += chunk.toString()));
      const closed = new Promise((resolve) => socket.on('close', resolve));
      const body = '{"name":"in-flight"}';
      socket.write(
        `POST /api/v1/no-such-route HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nX-Request-Id: in-flight\r\n\r\n`,
      );
      socket.write(body.slice(0, 5));
      // a full round trip on another connection: the server has read our earlier bytes by then
      expect((await get(port, '/health/live'))?.status).toBe(200);

      const signalledAt = Date.now();
      server.child.kill('SIGTERM');
      await waitFor(() => server.output().includes('shutting down'), 5_000);
      // nothing new is served once shutting down (refused, or 503 on a kept-alive connection)
      const late = await get(port, '/health/live');
      expect(late === null || late.status === 503).toBe(true);

      socket.end(body.slice(5));
      await closed;
      expect(response).toMatch(/^HTTP\/1\.1 404/);
      expect(response).toContain('"requestId":"in-flight"');

      expect(await server.exit).toEqual({ code: 0, signal: null });
      expect(Date.now() - signalledAt).toBeLessThan(10_000);
      expect(server.output()).toContain('shutdown complete');
    });
  });
});
