import { DataSource } from 'typeorm';
import { ADMIN_ENV, adminSession, bearer, register, Session, signUp, uniqueEmail } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv } from '../support/isolated-env';
import { json, startTestApp, TestApp } from '../support/test-app';

const USERS = '/api/v1/users';

describe('users', () => {
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

  const asAdmin = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    t.request({ method, url, headers: bearer(admin.accessToken), ...(payload ? { payload } : {}) });

  describe('create, read, update, delete', () => {
    it('an admin creates a user with roles; `user` is always kept', async () => {
      const email = uniqueEmail('created');
      const res = await asAdmin('POST', USERS, { email, password: 'password-123', name: 'Made', roles: ['admin'] });
      expect(res.statusCode).toBe(201);
      expect(json(res).data).toMatchObject({ email, name: 'Made', roles: ['admin', 'user'] });
      expect((await asAdmin('POST', USERS, { email, password: 'password-123', name: 'Again' })).statusCode).toBe(409);
    });

    it('an admin cannot give a user a common password (400 VALIDATION_ERROR)', async () => {
      const email = uniqueEmail('weak');
      const res = await asAdmin('POST', USERS, { email, password: 'Password', name: 'Weak' });
      expect(res.statusCode).toBe(400);
      expect(json(res).error).toMatchObject({
        code: 'VALIDATION_ERROR',
        details: { password: ['password is one of the most common passwords; choose another'] },
      });
      expect(json(await asAdmin('GET', `${USERS}?email=${encodeURIComponent(email)}`)).data).toEqual([]);
    });

    it('a non-admin cannot create, list or delete users (403)', async () => {
      const user = await signUp(t);
      const headers = bearer(user.accessToken);
      const create = await t.request({
        method: 'POST',
        url: USERS,
        headers,
        payload: { email: uniqueEmail(), password: 'password-123', name: 'X' },
      });
      expect(create.statusCode).toBe(403);
      expect((await t.request({ method: 'GET', url: USERS, headers })).statusCode).toBe(403);
      expect((await t.request({ method: 'DELETE', url: `${USERS}/${user.id}`, headers })).statusCode).toBe(403);
    });

    it('GET /users/:id: self or admin (200), another user (403), unknown (404), not a UUID (400)', async () => {
      const alice = await signUp(t);
      const bob = await signUp(t);
      expect(json(await t.request({ method: 'GET', url: `${USERS}/${alice.id}`, headers: bearer(alice.accessToken) })).data.id).toBe(
        alice.id,
      );
      expect((await asAdmin('GET', `${USERS}/${alice.id}`)).statusCode).toBe(200);
      const foreign = await t.request({ method: 'GET', url: `${USERS}/${alice.id}`, headers: bearer(bob.accessToken) });
      expect(foreign.statusCode).toBe(403);
      const unknownId = '01935f4e-0000-7000-8000-000000000000';
      const missing = await asAdmin('GET', `${USERS}/${unknownId}`);
      expect(missing.statusCode).toBe(404);
      expect(json(missing).error).toEqual({
        code: 'NOT_FOUND',
        message: `User ${unknownId} was not found`,
        details: { resource: 'User', id: unknownId },
      });
      for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
        const bad = await asAdmin(method, `${USERS}/not-a-uuid`, method === 'PATCH' ? { name: 'x' } : undefined);
        expect({ method, status: bad.statusCode, details: json(bad).error.details }).toEqual({
          method,
          status: 400,
          details: { id: ['id must be a UUID'] },
        });
      }
    });

    it('PATCH: self changes name and email; a taken email is 409; roles are admin-only', async () => {
      const user = await signUp(t);
      const other = await register(t);
      const patch = (payload: object, token = user.accessToken) =>
        t.request({ method: 'PATCH', url: `${USERS}/${user.id}`, headers: bearer(token), payload });

      const renamed = await patch({ name: 'New Name', email: `  NEW-${user.email.toUpperCase()}`, currentPassword: user.password });
      expect(renamed.statusCode).toBe(200);
      expect(json(renamed).data).toMatchObject({ name: 'New Name', email: `new-${user.email}` });
      expect(json(renamed).data.updatedAt > json(renamed).data.createdAt).toBe(true);

      const taken = await patch({ email: other.email, currentPassword: user.password });
      expect(taken.statusCode).toBe(409);
      expect(json(taken).error.details).toEqual({ email: ['email is already registered'] });

      expect((await patch({ roles: ['admin'] })).statusCode).toBe(403);
      expect((await patch({ password: 'sneaky-123' })).statusCode).toBe(400);
      const byAdmin = await patch({ roles: [] }, admin.accessToken);
      expect(json(byAdmin).data.roles).toEqual(['user']);
      expect((await patch({ roles: ['root'] }, admin.accessToken)).statusCode).toBe(400);
      // explicit nulls are values, and refused like any other bad value
      for (const payload of [{ name: null }, { email: null }, { roles: null }]) {
        const res = await patch(payload, admin.accessToken);
        expect({ payload, status: res.statusCode, code: json(res).error?.code }).toEqual({
          payload,
          status: 400,
          code: 'VALIDATION_ERROR',
        });
      }
      // 100 characters as the database counts them (U+FE0F is one, even if a length check skips it)
      expect((await patch({ name: 'a\uFE0F'.repeat(100) })).statusCode).toBe(400);
      expect((await patch({ name: 'é'.repeat(100) })).statusCode).toBe(200);
    });

    it('DELETE: 204, then 404; the user can no longer log in', async () => {
      const user = await signUp(t);
      const res = await asAdmin('DELETE', `${USERS}/${user.id}`);
      expect(res.statusCode).toBe(204);
      expect(res.body).toBe('');
      expect((await asAdmin('GET', `${USERS}/${user.id}`)).statusCode).toBe(404);
      expect((await asAdmin('DELETE', `${USERS}/${user.id}`)).statusCode).toBe(404);
      const login = await t.request({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: user.password } });
      expect(login.statusCode).toBe(401);
    });
  });

  describe('list', () => {
    const tag = `list${Date.now().toString(36)}`;
    const names = ['Carol', 'alice', 'Bob', 'bob', 'Dave', 'Bob', 'Eve', 'Bob', 'Frank', 'Grace', 'Bob', 'Heidi', 'Ivan', 'Bob'];
    let ids: string[];

    beforeAll(async () => {
      ids = [];
      for (const [i, name] of names.entries()) {
        ids.push((await register(t, { email: `${tag}-${String(i).padStart(2, '0')}@example.com`, name })).id);
      }
    });

    it('offset mode: meta.pagination, defaults page 1 / pageSize 20', async () => {
      const res = await asAdmin('GET', USERS);
      expect(res.statusCode).toBe(200);
      const { meta, data } = json(res);
      expect(meta.pagination).toMatchObject({ page: 1, pageSize: 20 });
      expect(meta.pagination.totalPages).toBe(Math.ceil(meta.pagination.total / 20));
      expect(data.length).toBe(Math.min(20, meta.pagination.total));
      expect(data[0]).not.toHaveProperty('passwordHash');
    });

    it('filters exactly by email and by role', async () => {
      const byEmail = json(await asAdmin('GET', `${USERS}?email=${tag.toUpperCase()}-03@EXAMPLE.COM`));
      expect(byEmail.data.map((u: { id: string }) => u.id)).toEqual([ids[3]]);
      expect(json(await asAdmin('GET', `${USERS}?email=${tag}-0`)).data).toEqual([]);
      const admins = json(await asAdmin('GET', `${USERS}?role=admin&pageSize=100`)).data;
      expect(admins.length).toBeGreaterThan(0);
      expect(admins.every((u: { roles: string[] }) => u.roles.includes('admin'))).toBe(true);
    });

    it('sorts by an allow-listed field, ties broken by id; page walks are complete', async () => {
      const all: Array<{ id: string; name: string }> = [];
      for (let page = 1; ; page++) {
        const body = json(await asAdmin('GET', `${USERS}?orderBy=name&orderDir=desc&pageSize=4&page=${page}`));
        all.push(...body.data);
        if (page >= body.meta.pagination.totalPages) break;
      }
      expect(new Set(all.map((u) => u.id)).size).toBe(all.length);
      expect(all.length).toBe(json(await asAdmin('GET', USERS)).meta.pagination.total);
    });

    it.each([
      ['page=0', 'page'],
      ['pageSize=101', 'pageSize'],
      ['page=1000000000000000000', 'page'],
      ['limit=0', 'limit'],
      ['orderBy=passwordHash', 'orderBy'],
      ['orderDir=sideways', 'orderDir'],
      ['role=root', 'role'],
      ['unknown=1', 'unknown'],
    ])('?%s is 400 VALIDATION_ERROR', async (query, field) => {
      const res = await asAdmin('GET', `${USERS}?${query}`);
      expect(res.statusCode).toBe(400);
      expect(json(res).error.code).toBe('VALIDATION_ERROR');
      expect(Object.keys(json(res).error.details)).toContain(field);
    });

    it('mixing offset and cursor parameters is 400 BAD_REQUEST', async () => {
      const res = await asAdmin('GET', `${USERS}?page=1&limit=5`);
      expect(res.statusCode).toBe(400);
      expect(json(res).error.code).toBe('BAD_REQUEST');
    });

    it.each([
      ['createdAt', 'asc'],
      ['name', 'asc'],
      ['name', 'desc'],
      ['email', 'desc'],
    ])('cursor walk by %s %s: no gaps, no duplicates, stable under ties', async (orderBy, orderDir) => {
      const everyone = json(await asAdmin('GET', `${USERS}?orderBy=${orderBy}&orderDir=${orderDir}&pageSize=100`));
      const walked: string[] = [];
      let after: string | null = null;
      let pages = 0;
      do {
        const query: string = `orderBy=${orderBy}&orderDir=${orderDir}&limit=3${after ? `&after=${encodeURIComponent(after)}` : ''}`;
        const body = json(await asAdmin('GET', `${USERS}?${query}`));
        expect(body.meta.cursor.limit).toBe(3);
        expect(body.meta.pagination).toBeUndefined();
        walked.push(...body.data.map((u: { id: string }) => u.id));
        after = body.meta.cursor.next;
        pages++;
      } while (after && pages < 100);
      expect(walked).toEqual(everyone.data.map((u: { id: string }) => u.id));
    });

    it('an altered cursor, garbage, or a cursor from another query is 400 BAD_REQUEST', async () => {
      const next: string = json(await asAdmin('GET', `${USERS}?orderBy=name&limit=2`)).meta.cursor.next;
      const [payload, signature] = next.split('.');
      const forgedPayload = Buffer.from(JSON.stringify(['A', ids[0]])).toString('base64url');
      for (const cursor of [`${forgedPayload}.${signature}`, 'garbage', `${payload}.`, `${payload}.${signature}x`]) {
        const res = await asAdmin('GET', `${USERS}?orderBy=name&limit=2&after=${encodeURIComponent(cursor)}`);
        expect({ cursor, status: res.statusCode, code: json(res).error?.code }).toEqual({ cursor, status: 400, code: 'BAD_REQUEST' });
      }
      const otherQuery = await asAdmin('GET', `${USERS}?orderBy=email&limit=2&after=${encodeURIComponent(next)}`);
      expect(otherQuery.statusCode).toBe(400);
    });
  });

  describe('cache', () => {
    it('reads by id are served from the cache when warm, and a PATCH invalidates at once', async () => {
      const user = await signUp(t, { name: 'Cached Name' });
      const get = async () => json(await asAdmin('GET', `${USERS}/${user.id}`)).data;
      expect((await get()).name).toBe('Cached Name');
      // change the row behind the cache's back: a warm cache keeps answering the old value
      const dataSource = t.app.get(DataSource);
      await dataSource.query('UPDATE users SET name = ? WHERE id = ?', ['Changed Behind', user.id]);
      expect((await get()).name).toBe('Cached Name');
      // a write through the API invalidates
      await asAdmin('PATCH', `${USERS}/${user.id}`, { name: 'Patched' });
      expect((await get()).name).toBe('Patched');
    });

    it('caches not-found for a while (negative caching)', async () => {
      const id = '01935f4e-1111-7000-8000-000000000000';
      const hitsBefore = await cacheHits(t);
      expect((await asAdmin('GET', `${USERS}/${id}`)).statusCode).toBe(404);
      expect((await asAdmin('GET', `${USERS}/${id}`)).statusCode).toBe(404);
      expect(await cacheHits(t)).toBeGreaterThan(hitsBefore);
    });

    it('no cache entry ever holds the password hash', async () => {
      const user = await signUp(t);
      await asAdmin('GET', `${USERS}/${user.id}`);
      const entries = await cacheEntries(env, t);
      expect(entries.length).toBeGreaterThan(0);
      expect(entries.join('\n')).not.toMatch(/argon2|passwordHash|password_hash/);
    });
  });
});

async function cacheHits(t: TestApp): Promise<number> {
  const text = (await t.request({ method: 'GET', url: '/metrics' })).body;
  const match = /cache_requests_total\{cache="user",result="hit"\} (\d+)/.exec(text);
  return Number(match?.[1] ?? 0);
}

/** Raw cache entries: Redis values under this file's prefix, or the memory store's values. */
async function cacheEntries(env: IsolatedEnv, t: TestApp): Promise<string[]> {
  if (env.redisUrl) {
    const { createClient } = await import('@redis/client');
    const client = createClient({ url: env.redisUrl });
    await client.connect();
    try {
      const keys = await client.keys(`${env.redisKeyPrefix}cache:*`);
      return (await Promise.all(keys.map((key) => client.get(key)))).map(String);
    } finally {
      await client.close();
    }
  }
  const { CACHE_MANAGER } = await import('@nestjs/cache-manager');
  const cache = t.app.get<{ stores: Array<{ store: Map<string, unknown> }> }>(CACHE_MANAGER);
  const store = cache.stores[0]!.store;
  return [...store.values()].map((value) => JSON.stringify(value));
}
