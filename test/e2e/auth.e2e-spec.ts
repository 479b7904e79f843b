import argon2 from 'argon2';
import { CacheAside } from '../../src/core/cache/cache-aside.service';
import { ADMIN_ENV, adminSession, bearer, login, register, signUp, uniqueEmail } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv } from '../support/isolated-env';
import { craftJwt, decodeJwt } from '../support/jwt';
import { captureLogs, CapturedLogs } from '../support/log-capture';
import { json, startTestApp, TestApp } from '../support/test-app';

const AUTH = '/api/v1/auth';

describe('auth', () => {
  let env: IsolatedEnv;
  let t: TestApp;
  let logs: CapturedLogs;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    logs = captureLogs('info');
    t = await startTestApp(env, {
      logger: logs.logger,
      env: { ...ADMIN_ENV, JWT_REFRESH_TTL: '600', JWT_REFRESH_ABSOLUTE_TTL: '600' },
    });
  });

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  const me = (token: string) => t.request({ method: 'GET', url: `${AUTH}/me`, headers: bearer(token) });
  const refresh = (refreshToken: string) => t.request({ method: 'POST', url: `${AUTH}/refresh`, payload: { refreshToken } });

  describe('register', () => {
    it('creates a user with role user; the email is trimmed and lower-cased; no secret is returned', async () => {
      const res = await t.request({
        method: 'POST',
        url: `${AUTH}/register`,
        payload: { email: '  Grace.Hopper@Example.COM ', password: 'password-123', name: ' Grace ' },
      });
      expect(res.statusCode).toBe(201);
      const user = json(res).data;
      expect(Object.keys(user).sort()).toEqual(['createdAt', 'email', 'emailVerifiedAt', 'id', 'name', 'roles', 'updatedAt']);
      expect(user.emailVerifiedAt).toBeNull();
      expect(user).toMatchObject({ email: 'grace.hopper@example.com', name: 'Grace', roles: ['user'] });
      expect(user.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(user.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(res.body).not.toMatch(/password|hash|argon/i);
    });

    it.each([
      [{ roles: ['admin'] }, 'roles'],
      [{ isAdmin: true }, 'isAdmin'],
      [{ password: 'short7!' }, 'password'],
      [{ password: 'x'.repeat(129) }, 'password'],
      [{ name: '' }, 'name'],
      [{ name: 'n'.repeat(101) }, 'name'],
      [{ email: 'not-an-email' }, 'email'],
      [{ email: `${'a'.repeat(250)}@x.io` }, 'email'],
    ])('rejects %j with 400 VALIDATION_ERROR on that field, creating nothing', async (override, field) => {
      const email = uniqueEmail('bad');
      const res = await t.request({
        method: 'POST',
        url: `${AUTH}/register`,
        payload: { email, password: 'password-123', name: 'N', ...override },
      });
      expect(res.statusCode).toBe(400);
      expect(json(res).error.code).toBe('VALIDATION_ERROR');
      expect(Object.keys(json(res).error.details)).toContain(field);
      const attempt = await t.request({ method: 'POST', url: `${AUTH}/login`, payload: { email, password: 'password-123' } });
      expect(attempt.statusCode).toBe(401);
    });

    it.each(['password', '12345678', 'PassWord', 'qwerty123'])(
      'refuses the common password %j with 400 VALIDATION_ERROR, creating nothing',
      async (password) => {
        const email = uniqueEmail('common');
        const res = await t.request({ method: 'POST', url: `${AUTH}/register`, payload: { email, password, name: 'N' } });
        expect(res.statusCode).toBe(400);
        expect(json(res).error).toMatchObject({
          code: 'VALIDATION_ERROR',
          details: { password: ['password is one of the most common passwords; choose another'] },
        });
        expect((await t.request({ method: 'POST', url: `${AUTH}/login`, payload: { email, password } })).statusCode).toBe(401);
      },
    );

    it('a taken email (any case) is 409 CONFLICT with details.email', async () => {
      const user = await register(t);
      const res = await t.request({
        method: 'POST',
        url: `${AUTH}/register`,
        payload: { email: user.email.toUpperCase(), password: 'password-123', name: 'Again' },
      });
      expect(res.statusCode).toBe(409);
      expect(json(res).error).toEqual({
        code: 'CONFLICT',
        message: 'This email is already registered',
        details: { email: ['email is already registered'] },
      });
    });

    it('two registrations racing for one email: exactly one 201, the rest 409', async () => {
      const email = uniqueEmail('race');
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          t.request({ method: 'POST', url: `${AUTH}/register`, payload: { email, password: 'password-123', name: `R${i}` } }),
        ),
      );
      const statuses = results.map((r) => r.statusCode).sort();
      expect(statuses).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    });
  });

  describe('login', () => {
    it('returns a TokenPair', async () => {
      const user = await register(t);
      const res = await t.request({ method: 'POST', url: `${AUTH}/login`, payload: { email: user.email, password: user.password } });
      expect(res.statusCode).toBe(200);
      const pair = json(res).data;
      expect(pair).toEqual({
        accessToken: expect.any(String),
        refreshToken: expect.any(String),
        tokenType: 'Bearer',
        expiresIn: 900,
        refreshExpiresIn: expect.any(Number),
      });
      // the seconds the refresh token has left when the answer is made: its 600 less the login's own time
      expect(pair.refreshExpiresIn).toBeLessThanOrEqual(600);
      expect(pair.refreshExpiresIn).toBeGreaterThanOrEqual(590);
      expect(decodeJwt(pair.accessToken)).toMatchObject({ sub: user.id, typ: 'access', iss: expect.any(String), aud: expect.any(String) });
      expect(decodeJwt(pair.refreshToken)).toMatchObject({
        sub: user.id,
        typ: 'refresh',
        jti: expect.any(String),
        fam: expect.any(String),
      });
    });

    it('wrong password and unknown email: the same 401, after the same work (one argon2 verify, of a hash with the same cost)', async () => {
      const user = await register(t);
      const wrong = () => t.request({ method: 'POST', url: `${AUTH}/login`, payload: { email: user.email, password: 'wrong-password' } });
      const unknown = () =>
        t.request({ method: 'POST', url: `${AUTH}/login`, payload: { email: uniqueEmail('nobody'), password: 'wrong-password' } });
      // timing is the attack, but a timing test is noise on a shared machine: the work is what must be the same
      const verify = jest.spyOn(argon2, 'verify');
      try {
        const verified = async (call: typeof wrong) => {
          verify.mockClear();
          const res = await call();
          return { res, hashes: verify.mock.calls.map(([hash]) => hash.split('$').slice(0, 4).join('$')) };
        };
        const a = await verified(wrong);
        const b = await verified(unknown);
        expect(a.res.statusCode).toBe(401);
        expect(b.res.statusCode).toBe(401);
        expect(json(a.res).error).toEqual(json(b.res).error);
        expect(json(a.res).error).toEqual({ code: 'UNAUTHORIZED', message: 'The email or password is incorrect' });
        // `$argon2id$v=19$m=…,p=…,t=…`: the algorithm and its costs, what the time of a verify depends on
        expect(a.hashes).toEqual([expect.stringMatching(/^\$argon2id\$v=19\$m=\d+,p=\d+,t=\d+$/)]);
        expect(b.hashes).toEqual(a.hashes);
      } finally {
        verify.mockRestore();
      }
    });

    it('a 64-character password works untruncated', async () => {
      const password = 'p'.repeat(63) + 'Z';
      const user = await register(t, { password });
      expect((await t.request({ method: 'POST', url: `${AUTH}/login`, payload: { email: user.email, password } })).statusCode).toBe(200);
      const truncated = await t.request({ method: 'POST', url: `${AUTH}/login`, payload: { email: user.email, password: 'p'.repeat(63) } });
      expect(truncated.statusCode).toBe(401);
      const longer = await t.request({ method: 'POST', url: `${AUTH}/login`, payload: { email: user.email, password: `${password}x` } });
      expect(longer.statusCode).toBe(401);
    });
  });

  describe('access tokens', () => {
    it('GET /me answers the stored user', async () => {
      const session = await signUp(t, { name: 'Me Myself' });
      const res = await me(session.accessToken);
      expect(res.statusCode).toBe(200);
      expect(json(res).data).toMatchObject({ id: session.id, email: session.email, name: 'Me Myself', roles: ['user'] });
    });

    it.each([
      ['no header', undefined],
      ['not bearer', 'Basic abc'],
      ['garbage', 'Bearer not.a.jwt'],
    ])('missing or malformed (%s): 401 UNAUTHORIZED', async (_case, header) => {
      const res = await t.request({ method: 'GET', url: `${AUTH}/me`, headers: header ? { authorization: header } : {} });
      expect(res.statusCode).toBe(401);
      expect(json(res).error.code).toBe('UNAUTHORIZED');
    });

    it('the scheme is case-insensitive; one or more spaces may follow it', async () => {
      const session = await signUp(t);
      for (const header of [`bearer ${session.accessToken}`, `BEARER ${session.accessToken}`, `Bearer   ${session.accessToken}`]) {
        const res = await t.request({ method: 'GET', url: `${AUTH}/me`, headers: { authorization: header } });
        expect({ header, status: res.statusCode }).toEqual({ header, status: 200 });
      }
    });

    it('anything after the token makes the header carry no token: 401', async () => {
      const session = await signUp(t);
      const token = session.accessToken;
      for (const header of [
        `Bearer ${token} garbage`,
        `Bearer ${token} ${token}`,
        `bearer ${token} x`,
        `Bearer ${token} `,
        `Bearer\t${token}`,
        `Bearer,${token}`,
      ]) {
        const res = await t.request({ method: 'GET', url: `${AUTH}/me`, headers: { authorization: header } });
        expect({ header, status: res.statusCode, code: json(res).error?.code }).toEqual({ header, status: 401, code: 'UNAUTHORIZED' });
      }
    });

    it('forged tokens are 401: alg none, other algorithms, wrong secret, expired, tampered, wrong iss/aud, refresh-as-access', async () => {
      const session = await signUp(t);
      const genuine = decodeJwt(session.accessToken);
      const secret = t.config.jwt.accessSecret;
      const now = Math.floor(Date.now() / 1000);
      const [head, , signature] = session.accessToken.split('.');
      const tampered = `${head}.${Buffer.from(JSON.stringify({ ...genuine, sub: '00000000-0000-7000-8000-000000000000' })).toString('base64url')}.${signature}`;
      const forged = {
        none: craftJwt(genuine, secret, 'none'),
        hs512: craftJwt(genuine, secret, 'HS512'),
        wrongSecret: craftJwt(genuine, 'not-the-secret'),
        expired: craftJwt({ ...genuine, iat: now - 1000, exp: now - 10 }, secret),
        wrongIssuer: craftJwt({ ...genuine, iss: 'someone-else' }, secret),
        wrongAudience: craftJwt({ ...genuine, aud: 'another-api' }, secret),
        noType: craftJwt({ ...genuine, typ: undefined }, secret),
        tampered,
        refreshAsAccess: session.refreshToken,
      };
      // the genuine one works, so each failure below is the forgery's doing
      expect((await me(session.accessToken)).statusCode).toBe(200);
      expect((await me(craftJwt(genuine, secret))).statusCode).toBe(200);
      for (const [name, token] of Object.entries(forged)) {
        const res = await me(token);
        expect({ name, status: res.statusCode, code: json(res).error?.code }).toEqual({ name, status: 401, code: 'UNAUTHORIZED' });
      }
    });

    it('an access token cannot stand in for a refresh token', async () => {
      const session = await signUp(t);
      expect((await refresh(session.accessToken)).statusCode).toBe(401);
    });
  });

  describe('refresh tokens', () => {
    it('rotate: a new pair, and the old refresh token works only once', async () => {
      const session = await signUp(t);
      const first = await refresh(session.refreshToken);
      expect(first.statusCode).toBe(200);
      const next = json(first).data;
      expect(next.refreshToken).not.toBe(session.refreshToken);
      expect(decodeJwt(next.refreshToken).fam).toBe(decodeJwt(session.refreshToken).fam);
      expect((await me(next.accessToken)).statusCode).toBe(200);
      expect((await refresh(next.refreshToken)).statusCode).toBe(200);
    });

    it('reuse of a rotated token is theft: 401, and the token issued in its place is revoked too', async () => {
      const session = await signUp(t);
      const successor = json(await refresh(session.refreshToken)).data.refreshToken;
      const replay = await refresh(session.refreshToken);
      expect(replay.statusCode).toBe(401);
      expect(json(replay).error.code).toBe('UNAUTHORIZED');
      expect((await refresh(successor)).statusCode).toBe(401);
      // another login (another family) is unaffected
      const other = await login(t, session.email, session.password);
      expect((await refresh(other.refreshToken)).statusCode).toBe(200);

      const line = logs.lines.find((l) => l.event === 'refresh.reuse_detected' && l.userId === session.id);
      expect(line).toMatchObject({ level: 'warn', requestId: expect.any(String) });
    });

    it('10 concurrent refreshes of one token: exactly one succeeds', async () => {
      const session = await signUp(t);
      const results = await Promise.all(Array.from({ length: 10 }, () => refresh(session.refreshToken)));
      expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401, 401, 401, 401, 401, 401, 401, 401, 401]);
    });

    it('forged or tampered refresh tokens are 401', async () => {
      const session = await signUp(t);
      const claims = decodeJwt(session.refreshToken);
      expect((await refresh(craftJwt(claims, 'wrong-secret'))).statusCode).toBe(401);
      expect((await refresh(craftJwt(claims, t.config.jwt.refreshSecret, 'none'))).statusCode).toBe(401);
      // correctly signed, but not the token that was issued (its hash is unknown)
      expect((await refresh(craftJwt({ ...claims, extra: 1 }, t.config.jwt.refreshSecret))).statusCode).toBe(401);
      expect((await refresh(session.refreshToken)).statusCode).toBe(200);
    });

    it('a family never outlives JWT_REFRESH_ABSOLUTE_TTL from its login, however often it rotates', async () => {
      const session = await signUp(t);
      const familyEnd = decodeJwt(session.refreshToken).exp as number;
      let token = session.refreshToken;
      for (let i = 0; i < 3; i++) {
        const pair = json(await refresh(token)).data;
        token = pair.refreshToken;
        expect(decodeJwt(token).exp).toBeLessThanOrEqual(familyEnd);
        expect(pair.refreshExpiresIn).toBeLessThanOrEqual(600);
      }
    });
  });

  describe('logout', () => {
    it('logout ends that session: its refresh family and its access tokens at once; other sessions go on', async () => {
      const session = await signUp(t);
      const other = await login(t, session.email, session.password);
      const res = await t.request({
        method: 'POST',
        url: `${AUTH}/logout`,
        headers: bearer(session.accessToken),
        payload: { refreshToken: session.refreshToken },
      });
      expect(res.statusCode).toBe(204);
      expect(res.body).toBe('');
      expect((await refresh(session.refreshToken)).statusCode).toBe(401);
      expect((await me(session.accessToken)).statusCode).toBe(401);
      expect((await me(other.accessToken)).statusCode).toBe(200);
      expect((await refresh(other.refreshToken)).statusCode).toBe(200);
    });

    it('logout needs a bearer token and cannot end another user’s family', async () => {
      const alice = await signUp(t);
      const bob = await signUp(t);
      const anonymous = await t.request({ method: 'POST', url: `${AUTH}/logout`, payload: { refreshToken: alice.refreshToken } });
      expect(anonymous.statusCode).toBe(401);
      const foreign = await t.request({
        method: 'POST',
        url: `${AUTH}/logout`,
        headers: bearer(bob.accessToken),
        payload: { refreshToken: alice.refreshToken },
      });
      expect(foreign.statusCode).toBe(401);
      expect((await refresh(alice.refreshToken)).statusCode).toBe(200);
    });

    it('logout-all revokes every refresh token and makes existing access tokens fail at once', async () => {
      const session = await signUp(t);
      const other = await login(t, session.email, session.password);
      const res = await t.request({ method: 'POST', url: `${AUTH}/logout-all`, headers: bearer(session.accessToken) });
      expect(res.statusCode).toBe(204);
      expect((await me(session.accessToken)).statusCode).toBe(401);
      expect((await me(other.accessToken)).statusCode).toBe(401);
      expect((await refresh(session.refreshToken)).statusCode).toBe(401);
      expect((await refresh(other.refreshToken)).statusCode).toBe(401);
      // a new login works right away
      const fresh = await login(t, session.email, session.password);
      expect((await me(fresh.accessToken)).statusCode).toBe(200);
    });
  });

  describe('password change', () => {
    const change = (token: string, currentPassword: string, newPassword: string) =>
      t.request({ method: 'PATCH', url: `${AUTH}/me/password`, headers: bearer(token), payload: { currentPassword, newPassword } });

    it('a wrong current password is 401 (bad credentials) and changes nothing', async () => {
      const session = await signUp(t);
      const res = await change(session.accessToken, 'not-my-password', 'new-password-456');
      expect(res.statusCode).toBe(401);
      expect(json(res).error).toEqual({
        code: 'UNAUTHORIZED',
        message: 'The current password is incorrect',
        details: { currentPassword: ['currentPassword is incorrect'] },
      });
      expect((await me(session.accessToken)).statusCode).toBe(200);
      await login(t, session.email, session.password);
    });

    it('a common new password is 400 VALIDATION_ERROR and changes nothing', async () => {
      const session = await signUp(t);
      const res = await change(session.accessToken, session.password, '12345678');
      expect(res.statusCode).toBe(400);
      expect(json(res).error.details).toEqual({ newPassword: ['newPassword is one of the most common passwords; choose another'] });
      expect((await me(session.accessToken)).statusCode).toBe(200);
      await login(t, session.email, session.password);
    });

    it('login does not judge the password: a common one is a plain 401', async () => {
      const res = await t.request({
        method: 'POST',
        url: `${AUTH}/login`,
        payload: { email: uniqueEmail('nobody'), password: 'password' },
      });
      expect(res.statusCode).toBe(401);
    });

    it('a too-short new password is 400 VALIDATION_ERROR', async () => {
      const session = await signUp(t);
      const res = await change(session.accessToken, session.password, 'short');
      expect(res.statusCode).toBe(400);
      expect(json(res).error.details.newPassword).toBeDefined();
    });

    it('a refresh made the moment the new token version is visible cannot yield a working token', async () => {
      const session = await signUp(t);
      const cache = t.app.get(CacheAside);
      const invalidate = cache.invalidate.bind(cache);
      let raced: Awaited<ReturnType<typeof refresh>> | undefined;
      let racing = false;
      // the user's cache entry is invalidated once the new version is in the database: refresh right then
      // (once: the refresh, finding its token revoked, ends that session and invalidates the entry again)
      const spy = jest.spyOn(cache, 'invalidate').mockImplementation(async (key: string) => {
        await invalidate(key);
        if (key !== `user:${session.id}` || racing) return;
        racing = true;
        raced = await refresh(session.refreshToken);
      });
      try {
        expect((await change(session.accessToken, session.password, 'new-password-789')).statusCode).toBe(204);
      } finally {
        spy.mockRestore();
      }
      // the refresh token ended in the transaction that made the new version visible
      expect(raced?.statusCode).toBe(401);
    });

    it('204; every refresh and access token is revoked; only the new password logs in', async () => {
      const session = await signUp(t);
      expect((await change(session.accessToken, session.password, 'new-password-456')).statusCode).toBe(204);
      expect((await me(session.accessToken)).statusCode).toBe(401);
      expect((await refresh(session.refreshToken)).statusCode).toBe(401);
      const old = await t.request({ method: 'POST', url: `${AUTH}/login`, payload: { email: session.email, password: session.password } });
      expect(old.statusCode).toBe(401);
      await login(t, session.email, 'new-password-456');
    });
  });

  describe('roles and revocation by admins', () => {
    it('401 without a token, 403 with a token that lacks the role', async () => {
      const session = await signUp(t);
      expect((await t.request({ method: 'GET', url: '/api/v1/users' })).statusCode).toBe(401);
      const denied = await t.request({ method: 'GET', url: '/api/v1/users', headers: bearer(session.accessToken) });
      expect(denied.statusCode).toBe(403);
      expect(json(denied).error.code).toBe('FORBIDDEN');
      expect(logs.lines.find((l) => l.event === 'authorization.denied' && l.userId === session.id)).toBeDefined();
    });

    it('a role change and a deletion make the user’s access tokens fail at once', async () => {
      const admin = await adminSession(t);
      const promoted = await signUp(t);
      const patch = await t.request({
        method: 'PATCH',
        url: `/api/v1/users/${promoted.id}`,
        headers: bearer(admin.accessToken),
        payload: { roles: ['admin'] },
      });
      expect(patch.statusCode).toBe(200);
      expect((await me(promoted.accessToken)).statusCode).toBe(401);
      const relogged = await login(t, promoted.email, promoted.password);
      expect(json(await me(relogged.accessToken)).data.roles).toEqual(['admin', 'user']);

      const doomed = await signUp(t);
      expect((await me(doomed.accessToken)).statusCode).toBe(200);
      const del = await t.request({ method: 'DELETE', url: `/api/v1/users/${doomed.id}`, headers: bearer(admin.accessToken) });
      expect(del.statusCode).toBe(204);
      expect((await me(doomed.accessToken)).statusCode).toBe(401);
      expect((await refresh(doomed.refreshToken)).statusCode).toBe(401);
    });
  });

  it('security events are logged with user and request ids, never with passwords or tokens', async () => {
    const session = await signUp(t, { password: 'very-secret-password-1' });
    await t.request({ method: 'POST', url: `${AUTH}/login`, payload: { email: session.email, password: 'wrong-secret-password' } });
    expect(logs.lines.find((l) => l.event === 'login.succeeded' && l.userId === session.id)).toMatchObject({
      requestId: expect.any(String),
    });
    expect(logs.lines.some((l) => l.event === 'login.failed')).toBe(true);
    const text = logs.text();
    expect(text).not.toContain('very-secret-password-1');
    expect(text).not.toContain('wrong-secret-password');
    expect(text).not.toContain(session.refreshToken);
    expect(text).not.toContain(session.accessToken);
    expect(text).not.toMatch(/\$argon2id\$/);
  });
});
