import { createIsolatedEnv, IsolatedEnv, target } from '../support/isolated-env';
import { bearer, signUp } from '../support/factories';
import { ProbeModule } from '../support/probe.module';
import { TcpProxy } from '../support/tcp-proxy';
import { json, startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

describe('health', () => {
  let env: IsolatedEnv;
  let t: TestApp;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    t = await startTestApp(env);
  });

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  it('GET /health/live answers 200 {status: ok}', async () => {
    const res = await t.request({ method: 'GET', url: '/health/live' });
    expect(res.statusCode).toBe(200);
    expect(json(res).data).toEqual({ status: 'ok' });
  });

  it('GET /health/ready answers 200 with each dependency up', async () => {
    const res = await t.request({ method: 'GET', url: '/health/ready' });
    expect(res.statusCode).toBe(200);
    expect(json(res).data).toEqual({ status: 'ok', checks: { database: 'up', cache: 'up' } });
  });

  it('health routes are not rate limited and not under /api/v1', async () => {
    expect((await t.request({ method: 'GET', url: '/api/v1/health/live' })).statusCode).toBe(404);
  });
});

/*
 * Outages need a server to cut off: they run against MariaDB and Redis (the CI's first run and
 * `npm test` with DATABASE_URL/REDIS_URL set). The embedded database cannot go away.
 */
const describeMysql = target.mysql ? describe : describe.skip;
const describeRedis = target.redisUrl ? describe : describe.skip;

describeMysql('health when the database connection is cut (MariaDB)', () => {
  let env: IsolatedEnv;
  let proxy: TcpProxy;
  let t: TestApp;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    let url: string;
    ({ proxy, url } = await TcpProxy.inFrontOf(env.databaseUrl, 3306));
    t = await startTestApp(env, { env: { DATABASE_URL: url }, extraModules: [ProbeModule] });
  });

  afterAll(async () => {
    await t?.close();
    await proxy?.stop();
    await env?.destroy();
  });

  it('goes 503 naming the database, API routes answer 503, and both recover without a restart', async () => {
    expect((await t.request({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
    const session = await signUp(t); // not in the cache yet: checking the token needs the database

    proxy.cut();
    const ready = await t.request({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(json(ready).error).toEqual({
      code: 'SERVICE_UNAVAILABLE',
      message: 'Not ready: database unavailable',
      details: { database: 'down', cache: 'up' },
    });
    const api = await t.request({ method: 'GET', url: '/api/v1/__probe/db' });
    expect(api.statusCode).toBe(503);
    expect(json(api).error.code).toBe('SERVICE_UNAVAILABLE');
    expect(api.body).not.toMatch(/ECONNREFUSED|SELECT|127\.0\.0\.1/);
    // a valid token whose user cannot be checked is a 503 too, never a 401 that would log the client out
    const me = await t.request({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(session.accessToken) });
    expect(me.statusCode).toBe(503);
    // the process survives and keeps serving what does not need the database
    expect((await t.request({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);

    proxy.restore();
    await waitFor(async () => (await t.request({ method: 'GET', url: '/health/ready' })).statusCode === 200);
    await waitFor(async () => (await t.request({ method: 'GET', url: '/api/v1/__probe/db' })).statusCode === 200);
  });
});

describeRedis('health when the Redis connection is cut', () => {
  let env: IsolatedEnv;
  let proxy: TcpProxy;
  let t: TestApp;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    let url: string;
    ({ proxy, url } = await TcpProxy.inFrontOf(env.redisUrl!, 6379));
    t = await startTestApp(env, { env: { REDIS_URL: url, RATE_LIMIT: '1000' }, extraModules: [ProbeModule] });
  });

  afterAll(async () => {
    await t?.close();
    await proxy?.stop();
    await env?.destroy();
  });

  it('goes 503 naming the cache while API routes keep working, then recovers', async () => {
    expect((await t.request({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);

    proxy.cut();
    const ready = await t.request({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(json(ready).error.details).toEqual({ database: 'up', cache: 'down' });
    // rate-limit counters fall back to memory: the API does not go down with Redis
    expect((await t.request({ method: 'GET', url: '/api/v1/__probe/ok' })).statusCode).toBe(200);

    proxy.restore();
    await waitFor(async () => (await t.request({ method: 'GET', url: '/health/ready' })).statusCode === 200);
  });
});
