import { ADMIN_ENV, adminSession, bearer, Session, signUp } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv } from '../support/isolated-env';
import { json, startTestApp, TestApp } from '../support/test-app';

/**
 * What the hot path does per request, counted through the app's own metrics: a user read
 * twice in one request (the access check, then the handler) is read from the cache once.
 */
describe('hot path: work per request', () => {
  let env: IsolatedEnv;
  let t: TestApp;
  let admin: Session;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    t = await startTestApp(env, { env: ADMIN_ENV });
    admin = await adminSession(t);
  });

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  /** Every `cache_requests_total{cache="user"}` sample summed (hits, misses, errors). */
  async function userCacheReads(): Promise<number> {
    const text = (await t.request({ method: 'GET', url: '/metrics' })).body;
    let total = 0;
    for (const line of text.split('\n')) {
      const match = /^cache_requests_total\{[^}]*cache="user"[^}]*\} (\d+)$/.exec(line);
      if (match) total += Number(match[1]);
    }
    return total;
  }

  it('GET /users/:own-id reads the user from the cache once, not once for the access check and again for the answer', async () => {
    const alice = await signUp(t);
    const read = () => t.request({ method: 'GET', url: `/api/v1/users/${alice.id}`, headers: bearer(alice.accessToken) });
    expect((await read()).statusCode).toBe(200); // warms the cache
    const before = await userCacheReads();
    for (let i = 0; i < 5; i++) {
      const res = await read();
      expect(res.statusCode).toBe(200);
      expect(json(res).data.id).toBe(alice.id);
    }
    expect((await userCacheReads()) - before).toBe(5);
  });

  it('an admin reading another user reads two entries: the caller and the user asked for', async () => {
    const bob = await signUp(t);
    const before = await userCacheReads();
    const res = await t.request({ method: 'GET', url: `/api/v1/users/${bob.id}`, headers: bearer(admin.accessToken) });
    expect(res.statusCode).toBe(200);
    expect((await userCacheReads()) - before).toBe(2);
  });
});
