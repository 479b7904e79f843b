import { createClient } from '@redis/client';
import { randomBytes } from 'node:crypto';
import { RateLimitStorage } from '../../src/core/throttling/rate-limit.storage';
import { register } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv, target } from '../support/isolated-env';
import { json, startTestApp, TestApp } from '../support/test-app';

const LIMIT = 3;

/**
 * AUTH_RATE_LIMIT failed logins per window per email (canonical form): a successful login never
 * counts, so nobody can lock a user out by logging in as them; failed guesses are limited however
 * they are spread over IPs, spellings, instances or concurrent requests.
 */
describe('login failures per email', () => {
  let env: IsolatedEnv;
  const apps: TestApp[] = [];
  let ipCounter = 0;

  // every attempt from its own address, so the per-IP limit never decides these tests
  const nextIp = () => `198.18.${Math.floor(ipCounter / 250)}.${(ipCounter++ % 250) + 1}`;

  async function start(extraEnv: Record<string, string> = {}): Promise<TestApp> {
    const t = await startTestApp(env, { env: { RATE_LIMIT: '0', AUTH_RATE_LIMIT: String(LIMIT), TRUST_PROXY: 'true', ...extraEnv } });
    apps.push(t);
    return t;
  }

  const attempt = (t: TestApp, email: string, password: string) =>
    t.request({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password }, headers: { 'x-forwarded-for': nextIp() } });
  const statusOf = async (t: TestApp, email: string, password: string) => (await attempt(t, email, password)).statusCode;
  const tally = (statuses: number[]) => statuses.reduce<Record<number, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {});
  const email = (tag: string) => `${tag}${randomBytes(3).toString('hex')}@example.com`;

  beforeEach(async () => {
    env = await createIsolatedEnv();
  });

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((t) => t.close()));
    await env.destroy();
  });

  it('a user who logs in successfully again and again is never locked out', async () => {
    const t = await start();
    const user = await register(t, { email: email('busy'), password: 'busy-password-1' });
    for (let i = 0; i < LIMIT * 4; i++) expect(await statusOf(t, user.email, user.password)).toBe(200);
  });

  it(`after ${LIMIT} failures: 429 RATE_LIMITED with Retry-After, even with the right password`, async () => {
    const t = await start();
    const user = await register(t, { email: email('victim'), password: 'victim-password-1' });
    for (let i = 0; i < LIMIT; i++) expect(await statusOf(t, user.email, 'wrong-password')).toBe(401);
    const limited = await attempt(t, user.email, user.password);
    expect(limited.statusCode).toBe(429);
    expect(json(limited).error.code).toBe('RATE_LIMITED');
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // an unknown address is limited the same way (the answer never tells whether an account exists)
    const nobody = email('nobody');
    for (let i = 0; i < LIMIT; i++) expect(await statusOf(t, nobody, 'wrong-password')).toBe(401);
    expect(await statusOf(t, nobody, 'wrong-password')).toBe(429);
  });

  it('successes in between neither count nor wipe the failures', async () => {
    const t = await start();
    const user = await register(t, { email: email('mixed'), password: 'mixed-password-1' });
    for (let i = 0; i < LIMIT - 1; i++) expect(await statusOf(t, user.email, 'wrong-password')).toBe(401);
    for (let i = 0; i < LIMIT * 2; i++) expect(await statusOf(t, user.email, user.password)).toBe(200);
    expect(await statusOf(t, user.email, 'wrong-password')).toBe(401);
    expect(await statusOf(t, user.email, user.password)).toBe(429);
  });

  it('spellings of one canonical address share a counter; an accented spelling is another address', async () => {
    const t = await start();
    const tag = randomBytes(3).toString('hex');
    const plain = `ada${tag}@example.com`;
    for (const spelling of [plain, `  ${plain.toUpperCase()} `, `Ada${tag}@Example.com`]) {
      expect(await statusOf(t, spelling, 'wrong-password')).toBe(401);
    }
    expect(await statusOf(t, plain, 'wrong-password')).toBe(429);
    const accented = `\u00e1d\u00e0${tag}@example.com`;
    for (const spelling of [accented, `a\u0301da\u0300${tag}@example.com`, accented.toUpperCase()]) {
      expect(await statusOf(t, spelling, 'wrong-password')).toBe(401);
    }
    expect(await statusOf(t, accented, 'wrong-password')).toBe(429);
  });

  it(`${LIMIT * 7} concurrent wrong guesses: exactly ${LIMIT} are checked, the rest 429`, async () => {
    const t = await start();
    const user = await register(t, { email: email('burst'), password: 'burst-password-1' });
    const statuses = await Promise.all(Array.from({ length: LIMIT * 7 }, () => statusOf(t, user.email, 'wrong-password')));
    expect(tally(statuses)).toEqual({ 401: LIMIT, 429: LIMIT * 6 });
  });

  it('a success running beside failures gives its slot back', async () => {
    const t = await start();
    const user = await register(t, { email: email('race'), password: 'race-password-1' });
    // LIMIT attempts in flight at once: each holds a slot while its password is checked
    const statuses = await Promise.all(
      Array.from({ length: LIMIT }, (_, i) => statusOf(t, user.email, i === 0 ? user.password : 'wrong-password')),
    );
    expect(tally(statuses)).toEqual({ 200: 1, 401: LIMIT - 1 });
    expect(await statusOf(t, user.email, 'wrong-password')).toBe(401);
    expect(await statusOf(t, user.email, user.password)).toBe(429);
  });

  describe('the current password of a password change, guessed with a session', () => {
    const changePassword = (t: TestApp, accessToken: string, currentPassword: string, newPassword: string) =>
      t.request({
        method: 'PATCH',
        url: '/api/v1/auth/me/password',
        payload: { currentPassword, newPassword },
        headers: { authorization: `Bearer ${accessToken}`, 'x-forwarded-for': nextIp() },
      });
    const changeStatus = async (t: TestApp, accessToken: string, currentPassword: string) =>
      (await changePassword(t, accessToken, currentPassword, 'replacement-password-9')).statusCode;
    const sessionOf = async (t: TestApp, user: { email: string; password: string }) => {
      const res = await attempt(t, user.email, user.password);
      expect(res.statusCode).toBe(200);
      return json(res).data.accessToken as string;
    };
    const me = (t: TestApp, accessToken: string) =>
      t.request({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${accessToken}` } });

    it('once failed logins used up the budget: 429 RATE_LIMITED with Retry-After, even with the right password', async () => {
      const t = await start();
      const user = await register(t, { email: email('holder'), password: 'holder-password-1' });
      const token = await sessionOf(t, user);
      for (let i = 0; i < LIMIT; i++) expect(await statusOf(t, user.email, 'wrong-password')).toBe(401);
      expect(await statusOf(t, user.email, user.password)).toBe(429);
      // a session is no way around it: a dozen guesses, from a dozen addresses, then the right password
      for (let i = 0; i < 11; i++) expect(await changeStatus(t, token, `guess-number-${i}`)).toBe(429);
      const limited = await changePassword(t, token, user.password, 'replacement-password-9');
      expect(limited.statusCode).toBe(429);
      expect(json(limited).error.code).toBe('RATE_LIMITED');
      const retryAfter = Number(limited.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      // nothing changed: the session still works
      expect((await me(t, token)).statusCode).toBe(200);
    });

    it('wrong current passwords use up the budget for logins too (any spelling of the email); a right one gives its slot back', async () => {
      const t = await start();
      const user = await register(t, { email: email('Guessed'), password: 'guessed-password-1' });
      const token = await sessionOf(t, user);
      for (let i = 0; i < LIMIT - 1; i++) expect(await changeStatus(t, token, 'wrong-password')).toBe(401);
      expect((await changePassword(t, token, user.password, 'guessed-password-2')).statusCode).toBe(204);
      const next = await sessionOf(t, { email: user.email, password: 'guessed-password-2' });
      expect(await statusOf(t, `  ${user.email.toUpperCase()}`, 'wrong-password')).toBe(401);
      expect(await changeStatus(t, next, 'guessed-password-2')).toBe(429);
      expect(await statusOf(t, user.email, 'guessed-password-2')).toBe(429);
      expect((await me(t, next)).statusCode).toBe(200);
    });

    it(`${LIMIT * 7} concurrent wrong current passwords: exactly ${LIMIT} are checked, the rest 429`, async () => {
      const t = await start();
      const user = await register(t, { email: email('burst'), password: 'burst-password-1' });
      const token = await sessionOf(t, user);
      const statuses = await Promise.all(Array.from({ length: LIMIT * 7 }, () => changeStatus(t, token, 'wrong-password')));
      expect(tally(statuses)).toEqual({ 401: LIMIT, 429: LIMIT * 6 });
      expect(await statusOf(t, user.email, user.password)).toBe(429);
    });
  });

  it('the counter key holds no raw email', async () => {
    const t = await start();
    const victim = email('secretive');
    for (let i = 0; i < LIMIT; i++) await attempt(t, victim, 'wrong-password');
    const keys = target.redisUrl ? await redisKeys(env.redisUrl!, env.redisKeyPrefix) : t.app.get(RateLimitStorage).memoryKeys();
    expect(keys.length).toBeGreaterThan(0);
    const local = victim.split('@')[0]!;
    expect(keys.filter((key) => key.toLowerCase().includes(local) || key.includes('@'))).toEqual([]);
  });

  (target.redisUrl ? it : it.skip)('holds across instances sharing Redis', async () => {
    const a = await start();
    const b = await start();
    const user = await register(a, { email: email('shared'), password: 'shared-password-1' });
    const statuses = await Promise.all(Array.from({ length: 20 }, (_, i) => statusOf(i % 2 ? a : b, user.email, 'wrong-password')));
    expect(tally(statuses)).toEqual({ 401: LIMIT, 429: 20 - LIMIT });
    expect(await statusOf(b, user.email, user.password)).toBe(429);
  });
});

async function redisKeys(url: string, prefix: string): Promise<string[]> {
  const client = createClient({ url });
  await client.connect();
  try {
    return await client.keys(`${prefix}*`);
  } finally {
    await client.close();
  }
}
