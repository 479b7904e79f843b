import { ADMIN_ENV, adminSession, bearer, Session, signUp } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv, target } from '../support/isolated-env';
import { TcpProxy } from '../support/tcp-proxy';
import { json, startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/*
 * What only a shared Redis can show: invalidation seen by every instance, and the outage path.
 * (On the embedded default the cache is per process: nothing to share, nothing to cut.)
 */
const describeRedis = target.redisUrl ? describe : describe.skip;

describeRedis('user cache across instances (Redis)', () => {
  let env: IsolatedEnv;
  let a: TestApp;
  let b: TestApp;
  let admin: Session;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    [a, b] = await Promise.all([startTestApp(env, { env: ADMIN_ENV }), startTestApp(env, { env: ADMIN_ENV })]);
    admin = await adminSession(a);
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await env?.destroy();
  });

  const getName = async (app: TestApp, id: string) =>
    json(await app.request({ method: 'GET', url: `/api/v1/users/${id}`, headers: bearer(admin.accessToken) })).data?.name;

  it('a PATCH on instance A is served by instance B at once', async () => {
    const user = await signUp(a, { name: 'Before' });
    expect(await getName(b, user.id)).toBe('Before'); // B warms the shared cache
    const patch = await a.request({
      method: 'PATCH',
      url: `/api/v1/users/${user.id}`,
      headers: bearer(admin.accessToken),
      payload: { name: 'After' },
    });
    expect(patch.statusCode).toBe(200);
    expect(await getName(b, user.id)).toBe('After');
  });

  it('a DELETE on instance A is seen by B, and the deleted user’s token fails on B', async () => {
    const user = await signUp(a);
    expect((await b.request({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(user.accessToken) })).statusCode).toBe(200);
    expect((await a.request({ method: 'DELETE', url: `/api/v1/users/${user.id}`, headers: bearer(admin.accessToken) })).statusCode).toBe(
      204,
    );
    expect((await b.request({ method: 'GET', url: `/api/v1/users/${user.id}`, headers: bearer(admin.accessToken) })).statusCode).toBe(404);
    expect((await b.request({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(user.accessToken) })).statusCode).toBe(401);
  });
});

describeRedis('user cache while Redis is down', () => {
  let env: IsolatedEnv;
  let proxy: TcpProxy;
  let proxiedRedis: string;
  let t: TestApp;
  let admin: Session;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    ({ proxy, url: proxiedRedis } = await TcpProxy.inFrontOf(env.redisUrl!, 6379));
    t = await startTestApp(env, { env: { ...ADMIN_ENV, REDIS_URL: proxiedRedis } });
    admin = await adminSession(t);
  });

  afterAll(async () => {
    await t?.close();
    await proxy?.stop();
    await env?.destroy();
  });

  it('reads degrade to the database; a write during the outage is never hidden by an entry cached before it', async () => {
    const user = await signUp(t, { name: 'Cached Before Outage' });
    const get = () => t.request({ method: 'GET', url: `/api/v1/users/${user.id}`, headers: bearer(admin.accessToken) });
    expect(json(await get()).data.name).toBe('Cached Before Outage'); // now cached in Redis

    proxy.cut();
    const during = await get();
    expect(during.statusCode).toBe(200); // from the database, not a 5xx
    const patch = await t.request({
      method: 'PATCH',
      url: `/api/v1/users/${user.id}`,
      headers: bearer(admin.accessToken),
      payload: { name: 'Written During Outage' },
    });
    expect(patch.statusCode).toBe(200);
    expect(json(await get()).data.name).toBe('Written During Outage');
    // tokens keep working: the access-token check reads through the same degraded cache
    expect((await t.request({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(user.accessToken) })).statusCode).toBe(200);

    proxy.restore();
    // from the moment Redis is back, every read answers the new name: the stale entry is never served
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const res = await get();
      expect(res.statusCode).toBe(200);
      expect(json(res).data.name).toBe('Written During Outage');
      if ((await t.request({ method: 'GET', url: '/health/ready' })).statusCode === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await t.request({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
    // once the invalidation reached Redis the key is cached again, with the new value
    expect(json(await get()).data.name).toBe('Written During Outage');
  });

  it('another instance that cached the user before the outage serves the new value after it', async () => {
    const other = await startTestApp(env, { env: { ...ADMIN_ENV, REDIS_URL: proxiedRedis } });
    try {
      const user = await signUp(t, { name: 'Old' });
      const read = async (app: TestApp) =>
        json(await app.request({ method: 'GET', url: `/api/v1/users/${user.id}`, headers: bearer(admin.accessToken) })).data.name;
      expect(await read(other)).toBe('Old'); // cached in Redis by the other instance
      proxy.cut();
      const patch = await t.request({
        method: 'PATCH',
        url: `/api/v1/users/${user.id}`,
        headers: bearer(admin.accessToken),
        payload: { name: 'New' },
      });
      expect(patch.statusCode).toBe(200);
      proxy.restore();
      await waitFor(async () => (await other.request({ method: 'GET', url: '/health/ready' })).statusCode === 200);
      expect(await read(other)).toBe('New');
    } finally {
      await other.close();
    }
  });
});
