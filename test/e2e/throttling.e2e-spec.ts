import { createIsolatedEnv, IsolatedEnv, target } from '../support/isolated-env';
import { ProbeModule } from '../support/probe.module';
import { bearer, register, signUp, uniqueEmail } from '../support/factories';
import { json, startTestApp, TestApp } from '../support/test-app';

const OK = '/api/v1/__probe/ok';

describe('rate limiting (global guard)', () => {
  let env: IsolatedEnv;
  const apps: TestApp[] = [];

  async function start(extraEnv: Record<string, string>): Promise<TestApp> {
    const t = await startTestApp(env, { env: extraEnv, extraModules: [ProbeModule] });
    apps.push(t);
    return t;
  }

  beforeEach(async () => {
    // a fresh key space per test: counters of one test never leak into the next
    env = await createIsolatedEnv();
  });

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((t) => t.close()));
    await env.destroy();
  });

  it('answers 429 RATE_LIMITED with Retry-After once a client is over RATE_LIMIT per window', async () => {
    const t = await start({ RATE_LIMIT: '3', RATE_LIMIT_WINDOW: '60' });
    for (let i = 0; i < 3; i++) {
      const res = await t.request({ method: 'GET', url: OK });
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-ratelimit-limit']).toBe('3');
      expect(res.headers['x-ratelimit-remaining']).toBe(String(2 - i));
    }
    const limited = await t.request({ method: 'GET', url: OK });
    expect(limited.statusCode).toBe(429);
    expect(json(limited).error.code).toBe('RATE_LIMITED');
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
  });

  it('counts per client across routes, not per route', async () => {
    const t = await start({ RATE_LIMIT: '2' });
    expect((await t.request({ method: 'GET', url: OK })).statusCode).toBe(200);
    expect((await t.request({ method: 'GET', url: '/api/v1/__probe/offset' })).statusCode).toBe(200);
    expect((await t.request({ method: 'GET', url: '/api/v1/__probe/cursor' })).statusCode).toBe(429);
  });

  it('does not limit /health, /metrics or /docs', async () => {
    const t = await start({ RATE_LIMIT: '1' });
    expect((await t.request({ method: 'GET', url: OK })).statusCode).toBe(200);
    for (const url of ['/health/live', '/health/ready', '/metrics', '/docs/json', '/health/live']) {
      expect({ url, status: (await t.request({ method: 'GET', url })).statusCode }).toEqual({ url, status: 200 });
    }
    expect((await t.request({ method: 'GET', url: OK })).statusCode).toBe(429);
  });

  it('RATE_LIMIT=0 turns the limit off', async () => {
    const t = await start({ RATE_LIMIT: '0' });
    for (let i = 0; i < 20; i++) expect((await t.request({ method: 'GET', url: OK })).statusCode).toBe(200);
  });

  it('ignores a forged X-Forwarded-For unless TRUST_PROXY is set', async () => {
    const t = await start({ RATE_LIMIT: '2' });
    const forged = (ip: string) => t.request({ method: 'GET', url: OK, headers: { 'x-forwarded-for': ip } });
    expect((await forged('10.0.0.1')).statusCode).toBe(200);
    expect((await forged('10.0.0.2')).statusCode).toBe(200);
    expect((await forged('10.0.0.3')).statusCode).toBe(429);
  });

  it('with TRUST_PROXY=true, each forwarded client has its own counter', async () => {
    const t = await start({ RATE_LIMIT: '1', TRUST_PROXY: 'true' });
    const from = (ip: string) => t.request({ method: 'GET', url: OK, headers: { 'x-forwarded-for': ip } });
    expect((await from('203.0.113.1')).statusCode).toBe(200);
    expect((await from('203.0.113.2')).statusCode).toBe(200);
    expect((await from('203.0.113.1')).statusCode).toBe(429);
  });

  it('lets exactly RATE_LIMIT requests through a concurrent burst', async () => {
    const t = await start({ RATE_LIMIT: '5' });
    const statuses = await Promise.all(Array.from({ length: 200 }, () => t.request({ method: 'GET', url: OK })));
    const counts = statuses.reduce<Record<number, number>>((acc, r) => ({ ...acc, [r.statusCode]: (acc[r.statusCode] ?? 0) + 1 }), {});
    expect(counts).toEqual({ 200: 5, 429: 195 });
  });

  it('keys authenticated traffic by user id, not IP', async () => {
    // the two sign-ups (register + login each) use up the limit of their IP, 127.0.0.1
    const t = await start({ RATE_LIMIT: '4', TRUST_PROXY: 'true' });
    const alice = await signUp(t);
    const bob = await signUp(t);
    expect((await t.request({ method: 'GET', url: OK })).statusCode).toBe(429);
    const me = (token: string, ip: string) =>
      t.request({ method: 'GET', url: '/api/v1/auth/me', headers: { ...bearer(token), 'x-forwarded-for': ip } });
    expect((await me(alice.accessToken, '198.51.100.1')).statusCode).toBe(200);
    expect((await me(alice.accessToken, '198.51.100.2')).statusCode).toBe(200);
    expect((await me(alice.accessToken, '198.51.100.3')).statusCode).toBe(200);
    expect((await me(alice.accessToken, '127.0.0.1')).statusCode).toBe(200);
    expect((await me(alice.accessToken, '198.51.100.4')).statusCode).toBe(429);
    expect((await me(bob.accessToken, '198.51.100.1')).statusCode).toBe(200);
  });

  it('keys a bearer token by its user whatever the spelling of the scheme (Bearer, bearer, BEARER) and the IP', async () => {
    const t = await start({ RATE_LIMIT: '20', TRUST_PROXY: 'true' });
    const alice = await signUp(t, { email: uniqueEmail('spell') });
    const schemes = ['Bearer', 'bearer', 'BEARER'];
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await t.request({
        method: 'GET',
        url: '/api/v1/auth/me',
        headers: { authorization: `${schemes[i % 3]} ${alice.accessToken}`, 'x-forwarded-for': `198.51.100.${i + 1}` },
      });
      statuses.push(res.statusCode);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses.slice(20)).toEqual(Array(10).fill(429));
  });

  it('a header with text after the token is no token: keyed by IP, not by the user', async () => {
    const t = await start({ RATE_LIMIT: '3', TRUST_PROXY: 'true' });
    const alice = await signUp(t, { email: uniqueEmail('trailing') });
    const ip = '198.51.100.77';
    const junk = (suffix: string) =>
      t.request({
        method: 'GET',
        url: '/api/v1/auth/me',
        headers: { authorization: `Bearer ${alice.accessToken}${suffix}`, 'x-forwarded-for': ip },
      });
    expect((await junk(' garbage')).statusCode).toBe(401);
    expect((await junk(` ${alice.accessToken}`)).statusCode).toBe(401);
    expect((await junk(' x')).statusCode).toBe(401);
    expect((await junk(' x')).statusCode).toBe(429);
    // the user's own counter was not touched
    expect(
      (await t.request({ method: 'GET', url: '/api/v1/auth/me', headers: { ...bearer(alice.accessToken), 'x-forwarded-for': ip } }))
        .statusCode,
    ).toBe(200);
  });

  it('IPv6 clients are grouped by /64, and an IPv4-mapped address is its IPv4 address', async () => {
    const t = await start({ RATE_LIMIT: '2', TRUST_PROXY: 'true' });
    const from = (ip: string) => t.request({ method: 'GET', url: OK, headers: { 'x-forwarded-for': ip } });
    expect((await from('2001:db8:aa:1::1')).statusCode).toBe(200);
    expect((await from('2001:db8:aa:1:ffff:ffff:ffff:fffe')).statusCode).toBe(200);
    expect((await from('2001:db8:aa:1:1234::9')).statusCode).toBe(429);
    expect((await from('2001:db8:aa:2::1')).statusCode).toBe(200);

    expect((await from('203.0.113.50')).statusCode).toBe(200);
    expect((await from('::ffff:203.0.113.50')).statusCode).toBe(200);
    expect((await from('::ffff:cb00:7132')).statusCode).toBe(429);
  });

  it('counts requests refused with 401 too (token probing is limited)', async () => {
    const t = await start({ RATE_LIMIT: '2' });
    const probe = () => t.request({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: 'Bearer forged.token.here' } });
    expect((await probe()).statusCode).toBe(401);
    expect((await probe()).statusCode).toBe(401);
    expect((await probe()).statusCode).toBe(429);
  });

  it("a token revoked by logout-all, replayed, fills its own counter, not its user's (no lock-out after a leak)", async () => {
    const t = await start({ RATE_LIMIT: '3' });
    // the sign-up's register and login count against the IP, not the user
    const alice = await signUp(t);
    const leaked = alice.accessToken;
    const me = (token: string) => t.request({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(token) });
    expect((await t.request({ method: 'POST', url: '/api/v1/auth/logout-all', headers: bearer(leaked) })).statusCode).toBe(204);
    // the attacker replays the leaked token until it is limited
    const replays = [];
    for (let i = 0; i < 5; i++) replays.push((await me(leaked)).statusCode);
    expect(replays).toEqual([401, 401, 429, 429, 429]);
    // alice logs in again (from another address: her IP's budget went on the sign-up) and is not locked out
    const login = await t.request({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: alice.email, password: alice.password },
      headers: { 'x-forwarded-for': '198.51.100.7' },
    });
    expect(login.statusCode).toBe(200);
    expect((await me(json(login).data.accessToken)).statusCode).toBe(200);
  });

  describe('AUTH_RATE_LIMIT on login, register and refresh', () => {
    const loginAs = (t: TestApp, email: string, ip = '192.0.2.1') =>
      t.request({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email, password: 'wrong-password' },
        headers: { 'x-forwarded-for': ip },
      });

    it('counts per IP and per route, on top of the global limit', async () => {
      const t = await start({ RATE_LIMIT: '1000', AUTH_RATE_LIMIT: '3' });
      for (let i = 0; i < 3; i++) expect((await loginAs(t, uniqueEmail())).statusCode).toBe(401);
      const limited = await loginAs(t, uniqueEmail());
      expect(limited.statusCode).toBe(429);
      expect(json(limited).error.code).toBe('RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      // register has its own counter
      for (let i = 0; i < 3; i++) await register(t);
      const registerLimited = await t.request({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: { email: uniqueEmail(), password: 'password-123', name: 'N' },
      });
      expect(registerLimited.statusCode).toBe(429);
      const refreshLimitedLater = await t.request({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: 'x' } });
      expect(refreshLimitedLater.statusCode).toBe(401); // refresh's own counter is still fresh
    });

    it('login also counts per email, across IPs (credential stuffing)', async () => {
      const t = await start({ RATE_LIMIT: '1000', AUTH_RATE_LIMIT: '3', TRUST_PROXY: 'true' });
      const email = uniqueEmail('victim');
      for (let i = 1; i <= 3; i++) expect((await loginAs(t, email, `203.0.113.${i}`)).statusCode).toBe(401);
      expect((await loginAs(t, email.toUpperCase(), '203.0.113.9')).statusCode).toBe(429);
      expect((await loginAs(t, uniqueEmail(), '203.0.113.10')).statusCode).toBe(401);
    });

    it('the per-IP auth limit groups IPv6 by /64 too', async () => {
      const t = await start({ RATE_LIMIT: '1000', AUTH_RATE_LIMIT: '2', TRUST_PROXY: 'true' });
      expect((await loginAs(t, uniqueEmail(), '2001:db8:bb:1::1')).statusCode).toBe(401);
      expect((await loginAs(t, uniqueEmail(), '2001:db8:bb:1::2')).statusCode).toBe(401);
      expect((await loginAs(t, uniqueEmail(), '2001:db8:bb:1:abcd::3')).statusCode).toBe(429);
      expect((await loginAs(t, uniqueEmail(), '2001:db8:bb:2::1')).statusCode).toBe(401);
    });

    it('a burst of 1 000 concurrent logins against a limit of 5 lets at most 5 through', async () => {
      const t = await start({ RATE_LIMIT: '0', AUTH_RATE_LIMIT: '5' });
      const results = await Promise.all(Array.from({ length: 1000 }, () => loginAs(t, uniqueEmail())));
      const through = results.filter((r) => r.statusCode !== 429);
      expect(through.length).toBe(5);
      expect(through.every((r) => r.statusCode === 401)).toBe(true);
    });
  });

  (target.redisUrl ? it : it.skip)('holds across instances sharing Redis', async () => {
    const a = await start({ RATE_LIMIT: '4' });
    const b = await start({ RATE_LIMIT: '4' });
    const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).request({ method: 'GET', url: OK })));
    expect(statuses.filter((r) => r.statusCode === 200)).toHaveLength(4);
    // the counter really lives in Redis, under this deployment's key prefix
    expect(await keysUnder(env.redisUrl!, `${env.redisKeyPrefix}rl:`)).toBeGreaterThan(0);
  });
});

async function keysUnder(url: string, prefix: string): Promise<number> {
  const { createClient } = await import('@redis/client');
  const client = createClient({ url });
  await client.connect();
  try {
    return (await client.keys(`${prefix}*`)).length;
  } finally {
    await client.close();
  }
}
