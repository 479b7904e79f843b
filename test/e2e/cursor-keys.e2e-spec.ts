import { randomBytes } from 'node:crypto';
import { expectErrorEnvelope } from '../support/envelope';
import { ADMIN_ENV, adminSession, bearer, register } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv } from '../support/isolated-env';
import { json, startTestApp, TestApp } from '../support/test-app';

const secret = () => randomBytes(32).toString('base64url');

/**
 * Cursors are signed with a key of their own, derived from APP_SECRET per list (HKDF), not with
 * the JWT access secret: rotating the JWT secrets leaves every cursor valid, and a cursor of one
 * list is refused by another. Instances run one after the other on one database (passport's
 * strategy registry is per process, so two instances with different JWT secrets cannot overlap).
 */
describe('cursor keys', () => {
  let env: IsolatedEnv;
  let t: TestApp | undefined;
  let usersCursor: string;
  let firstUserId: string;
  let ledgerCursor: string;
  let accountId: string;

  const start = async (vars: Record<string, string> = {}) => {
    t = await startTestApp(env, { env: { ...ADMIN_ENV, ...vars } });
    return { app: t, token: (await adminSession(t)).accessToken };
  };
  const stop = async () => {
    await t?.close();
    t = undefined;
  };

  beforeAll(async () => {
    env = await createIsolatedEnv();
    const { app, token } = await start();
    for (let i = 0; i < 3; i++) await register(app);
    const users = json(await app.request({ method: 'GET', url: '/api/v1/users?limit=1&orderBy=email', headers: bearer(token) }));
    usersCursor = users.meta.cursor.next;
    firstUserId = users.data[0].id;
    accountId = json(
      await app.request({ method: 'POST', url: '/api/v1/accounts', headers: bearer(token), payload: { name: 'Cursor', currency: 'EUR' } }),
    ).data.id;
    for (const amount of [1, 2, 3]) {
      await app.request({ method: 'POST', url: `/api/v1/accounts/${accountId}/deposits`, headers: bearer(token), payload: { amount } });
    }
    ledgerCursor = json(
      await app.request({ method: 'GET', url: `/api/v1/accounts/${accountId}/transactions?limit=1`, headers: bearer(token) }),
    ).meta.cursor.next;
    expect(usersCursor).toEqual(expect.any(String));
    expect(ledgerCursor).toEqual(expect.any(String));
    await stop();
  });

  afterEach(stop);

  afterAll(async () => {
    await env?.destroy();
  });

  it('a cursor still works after the JWT secrets change (same APP_SECRET)', async () => {
    const { app, token } = await start({ JWT_ACCESS_SECRET: secret(), JWT_REFRESH_SECRET: secret() });
    const users = await app.request({
      method: 'GET',
      url: `/api/v1/users?limit=1&orderBy=email&after=${usersCursor}`,
      headers: bearer(token),
    });
    expect(users.statusCode).toBe(200);
    expect(json(users).data[0].id).not.toBe(firstUserId);
    const ledger = await app.request({
      method: 'GET',
      url: `/api/v1/accounts/${accountId}/transactions?limit=1&after=${ledgerCursor}`,
      headers: bearer(token),
    });
    expect(ledger.statusCode).toBe(200);
    expect(json(ledger).data[0].amount).toBe(2);
  });

  it('a cursor of one list is refused by another', async () => {
    const { app, token } = await start();
    const res = await app.request({
      method: 'GET',
      url: `/api/v1/accounts/${accountId}/transactions?limit=1&after=${usersCursor}`,
      headers: bearer(token),
    });
    expectErrorEnvelope(res, 400, 'BAD_REQUEST');
  });

  it('another APP_SECRET refuses the cursor: the key really comes from it', async () => {
    const { app, token } = await start({ APP_SECRET: secret() });
    const res = await app.request({
      method: 'GET',
      url: `/api/v1/users?limit=1&orderBy=email&after=${usersCursor}`,
      headers: bearer(token),
    });
    expectErrorEnvelope(res, 400, 'BAD_REQUEST');
  });
});
