import { ADMIN_ENV, adminSession, bearer, login, register, uniqueEmail } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv } from '../support/isolated-env';
import { captureLogs } from '../support/log-capture';
import { json, startTestApp } from '../support/test-app';

const AUTH = '/api/v1/auth';

describe('admin bootstrap', () => {
  let env: IsolatedEnv;

  beforeAll(async () => {
    env = await createIsolatedEnv();
  });

  afterAll(async () => {
    await env.destroy();
  });

  it('an account someone registered under ADMIN_EMAIL with another password is not promoted; the log says why', async () => {
    const squatted = { email: uniqueEmail('boss'), password: 'squatter-password-1' };
    const before = await startTestApp(env);
    const squatter = await register(before, squatted);
    await before.close();

    const logs = captureLogs('info');
    const operator = { ADMIN_EMAIL: ` ${squatted.email.toUpperCase()} `, ADMIN_PASSWORD: 'operator-password-1' };
    const t = await startTestApp(env, { logger: logs.logger, env: operator });
    try {
      const tokens = await login(t, squatted.email, squatted.password);
      const list = await t.request({ method: 'GET', url: '/api/v1/users', headers: bearer(tokens.accessToken) });
      expect(list.statusCode).toBe(403);
      expect(json(await t.request({ method: 'GET', url: `${AUTH}/me`, headers: bearer(tokens.accessToken) })).data.roles).toEqual(['user']);
      // the operator's password opens nothing either: the account is not theirs
      const operatorLogin = await t.request({
        method: 'POST',
        url: `${AUTH}/login`,
        payload: { email: squatted.email, password: operator.ADMIN_PASSWORD },
      });
      expect(operatorLogin.statusCode).toBe(401);

      const refused = logs.lines.find((l) => l.event === 'admin.bootstrap_refused');
      expect(refused).toMatchObject({ level: 'error', userId: squatter.id, msg: expect.stringContaining('ADMIN_PASSWORD') });
      expect(logs.text()).not.toContain(operator.ADMIN_PASSWORD);
      expect(logs.text()).not.toContain(squatted.password);
    } finally {
      await t.close();
    }
  });

  it('an existing account whose password is ADMIN_PASSWORD is promoted', async () => {
    const owner = { email: uniqueEmail('owner'), password: 'owner-password-1' };
    const before = await startTestApp(env);
    const user = await register(before, owner);
    const oldTokens = await login(before, owner.email, owner.password);
    await before.close();

    const t = await startTestApp(env, { env: { ADMIN_EMAIL: owner.email, ADMIN_PASSWORD: owner.password } });
    try {
      const tokens = await login(t, owner.email, owner.password);
      const list = await t.request({
        method: 'GET',
        url: `/api/v1/users?email=${encodeURIComponent(owner.email)}`,
        headers: bearer(tokens.accessToken),
      });
      expect(list.statusCode).toBe(200);
      expect(json(list).data).toEqual([expect.objectContaining({ id: user.id, roles: ['admin', 'user'] })]);
      // tokens issued before the promotion carry the old roles: they end
      expect((await t.request({ method: 'GET', url: `${AUTH}/me`, headers: bearer(oldTokens.accessToken) })).statusCode).toBe(401);
    } finally {
      await t.close();
    }
  });

  it('three instances starting together create the admin once; restarts keep it', async () => {
    const apps = await Promise.all([0, 1, 2].map(() => startTestApp(env, { env: ADMIN_ENV })));
    try {
      const admin = await adminSession(apps[0]!);
      const list = await apps[1]!.request({
        method: 'GET',
        url: `/api/v1/users?email=${encodeURIComponent(admin.email)}`,
        headers: bearer(admin.accessToken),
      });
      expect(list.statusCode).toBe(200);
      expect(json(list).data).toHaveLength(1);
      expect(json(list).data[0].roles).toEqual(['admin', 'user']);
    } finally {
      await Promise.all(apps.map((a) => a.close()));
    }
  });
});
