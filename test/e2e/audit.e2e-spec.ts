import { DataSource } from 'typeorm';
import { ADMIN_ENV, adminSession, bearer, login, register, Session, signUp, uniqueEmail } from '../support/factories';
import { AuditEventView, auditEvents, awaitAuditEvent } from '../support/audit';
import { createIsolatedEnv, IsolatedEnv } from '../support/isolated-env';
import { deposit, openAccount, transfer } from '../support/money';
import { outboxSettled } from '../support/outbox';
import { json, startTestApp, TestApp } from '../support/test-app';

/*
 * The contract's audit trail (docs/API.md, Audit): each event type after the request that causes
 * it, with its subject, data, request id and actor; admin-only reads; no event for a refused
 * request or an idempotent replay; no secret anywhere in an event. Visibility is polled with the
 * contract's 2 s bound.
 */
/** The contract: an event is listed within 2 s of the commit of its change. */
const VISIBLE_WITHIN_MS = 2_000;

describe('audit events', () => {
  let env: IsolatedEnv;
  let t: TestApp;
  let admin: Session;
  /** Every password, token, hash and idempotency key the tests use: none may appear in an event. */
  const secrets = new Set<string>();
  const rid = (tag: string) => `${tag}-${Math.random().toString(36).slice(2, 10)}`;
  const event = (type: string, subjectId: string | null, more: (e: AuditEventView) => boolean = () => true) =>
    awaitAuditEvent(t, admin, (e) => e.type === type && e.subjectId === subjectId && more(e), {
      query: { type, ...(subjectId ? { subjectId } : {}) },
      timeoutMs: VISIBLE_WITHIN_MS,
    });
  const keep = (session: { password?: string; accessToken?: string; refreshToken?: string }) => {
    for (const value of [session.password, session.accessToken, session.refreshToken]) if (value) secrets.add(value);
  };

  beforeAll(async () => {
    env = await createIsolatedEnv();
    t = await startTestApp(env, { env: ADMIN_ENV });
    admin = await adminSession(t);
    keep(admin);
  });

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  it('records the admin bootstrap (no request: no actor, no request id)', async () => {
    expect(await event('user.created', admin.id)).toMatchObject({ actorId: null, requestId: null, data: { roles: ['admin', 'user'] } });
  });

  it('records users events with subject, data, request id and actor', async () => {
    const email = uniqueEmail('reg');
    const res = await t.request({
      method: 'POST',
      url: '/api/v1/auth/register',
      headers: { 'x-request-id': 'req-register-1' },
      payload: { email, password: 'register-pass-1', name: 'Reg' },
    });
    secrets.add('register-pass-1');
    const userId = json(res).data.id as string;
    const registered = await event('user.registered', userId);
    expect(registered).toMatchObject({ subjectType: 'user', actorId: null, requestId: 'req-register-1' });

    const created = await t.request({
      method: 'POST',
      url: '/api/v1/users',
      headers: { ...bearer(admin.accessToken), 'x-request-id': 'req-create-1' },
      payload: { email: uniqueEmail('made'), password: 'created-pass-1', name: 'Made' },
    });
    secrets.add('created-pass-1');
    const madeId = json(created).data.id as string;
    expect(await event('user.created', madeId)).toMatchObject({
      subjectType: 'user',
      actorId: admin.id,
      requestId: 'req-create-1',
      data: { roles: ['user'] },
    });

    const patch = (payload: object, requestId: string) =>
      t.request({
        method: 'PATCH',
        url: `/api/v1/users/${madeId}`,
        headers: { ...bearer(admin.accessToken), 'x-request-id': requestId },
        payload,
      });
    expect((await patch({ name: 'Renamed' }, 'req-patch-1')).statusCode).toBe(200);
    expect(await event('user.updated', madeId, (e) => e.requestId === 'req-patch-1')).toMatchObject({
      actorId: admin.id,
      data: { fields: ['name'] },
    });
    expect((await patch({ roles: ['user', 'admin'] }, 'req-roles-1')).statusCode).toBe(200);
    expect(await event('user.roles_changed', madeId)).toMatchObject({
      actorId: admin.id,
      requestId: 'req-roles-1',
      data: { from: ['user'], to: ['admin', 'user'] },
    });
    expect(await event('user.updated', madeId, (e) => e.requestId === 'req-roles-1')).toMatchObject({ data: { fields: ['roles'] } });

    const del = await t.request({
      method: 'DELETE',
      url: `/api/v1/users/${madeId}`,
      headers: { ...bearer(admin.accessToken), 'x-request-id': 'req-delete-1' },
    });
    expect(del.statusCode).toBe(204);
    expect(await event('user.deleted', madeId)).toMatchObject({ actorId: admin.id, requestId: 'req-delete-1' });
  });

  it('records auth events: logins (failed ones with the canonical email), reuse, logouts, password change', async () => {
    const user = await register(t, { password: 'auth-pass-123' });
    keep(user);
    const post = (url: string, payload: object, requestId: string, token?: string) =>
      t.request({
        method: 'POST',
        url: `/api/v1/auth/${url}`,
        headers: { 'x-request-id': requestId, ...(token ? bearer(token) : {}) },
        payload,
      });

    const ok = await post('login', { email: user.email, password: user.password }, 'req-login-ok');
    const first = json(ok).data as { accessToken: string; refreshToken: string };
    keep(first);
    expect(await event('auth.login_succeeded', user.id)).toMatchObject({ actorId: null, requestId: 'req-login-ok' });

    expect((await post('login', { email: ` ${user.email.toUpperCase()} `, password: 'wrong-pass-123' }, 'req-login-bad')).statusCode).toBe(
      401,
    );
    secrets.add('wrong-pass-123');
    expect(await event('auth.login_failed', user.id)).toMatchObject({ requestId: 'req-login-bad', data: { email: user.email } });
    const ghost = uniqueEmail('ghost');
    expect((await post('login', { email: ghost.toUpperCase(), password: 'ghost-pass-123' }, 'req-login-ghost')).statusCode).toBe(401);
    secrets.add('ghost-pass-123');
    expect(await event('auth.login_failed', null)).toMatchObject({ requestId: 'req-login-ghost', data: { email: ghost } });

    const rotated = json(await post('refresh', { refreshToken: first.refreshToken }, 'req-refresh')).data as { refreshToken: string };
    keep(rotated);
    expect((await post('refresh', { refreshToken: first.refreshToken }, 'req-reuse')).statusCode).toBe(401);
    expect(await event('auth.refresh_reuse_detected', user.id)).toMatchObject({ requestId: 'req-reuse' });

    const second = await login(t, user.email, user.password);
    keep(second);
    expect((await post('logout', { refreshToken: second.refreshToken }, 'req-logout', second.accessToken)).statusCode).toBe(204);
    expect(await event('auth.logout', user.id)).toMatchObject({ actorId: user.id, requestId: 'req-logout' });

    const third = await login(t, user.email, user.password);
    keep(third);
    expect((await post('logout-all', {}, 'req-logout-all', third.accessToken)).statusCode).toBe(204);
    expect(await event('auth.logout_all', user.id)).toMatchObject({ actorId: user.id, requestId: 'req-logout-all' });

    const fourth = await login(t, user.email, user.password);
    keep(fourth);
    const change = await t.request({
      method: 'PATCH',
      url: '/api/v1/auth/me/password',
      headers: { ...bearer(fourth.accessToken), 'x-request-id': 'req-password' },
      payload: { currentPassword: user.password, newPassword: 'changed-pass-456' },
    });
    secrets.add('changed-pass-456');
    expect(change.statusCode).toBe(204);
    expect(await event('auth.password_changed', user.id)).toMatchObject({ actorId: user.id, requestId: 'req-password' });
  });

  it('records accounts events; a refused transfer (422, 403) and an idempotent replay record nothing', async () => {
    const owner = await signUp(t);
    const other = await signUp(t);
    keep(owner);
    keep(other);
    const mine = await openAccount(t, owner);
    const theirs = await openAccount(t, other);
    expect(await event('account.created', mine)).toMatchObject({
      subjectType: 'account',
      actorId: owner.id,
      data: { ownerId: owner.id, currency: 'EUR' },
    });

    await deposit(t, admin, mine, 1_000);
    const dep = await awaitAuditEvent(t, admin, (e) => e.type === 'account.deposit' && e.data.accountId === mine, {
      query: { type: 'account.deposit' },
      timeoutMs: VISIBLE_WITHIN_MS,
    });
    expect(dep).toMatchObject({ subjectType: 'transaction', actorId: admin.id, data: { accountId: mine, amount: 1_000, currency: 'EUR' } });

    const key = rid('idem-key');
    secrets.add(key);
    const moved = await transfer(t, owner, { fromAccountId: mine, toAccountId: theirs, amount: 300 }, key);
    expect(moved.statusCode).toBe(201);
    const txId = json(moved).data.id as string;
    expect(await event('transfer.completed', txId)).toMatchObject({
      subjectType: 'transaction',
      actorId: owner.id,
      data: { fromAccountId: mine, toAccountId: theirs, amount: 300, currency: 'EUR' },
    });

    const replay = await transfer(t, owner, { fromAccountId: mine, toAccountId: theirs, amount: 300 }, key);
    expect(replay.statusCode).toBe(201);
    expect(json(replay).data.id).toBe(txId);
    expect((await transfer(t, owner, { fromAccountId: mine, toAccountId: theirs, amount: 10_000 })).statusCode).toBe(422);
    expect((await transfer(t, other, { fromAccountId: mine, toAccountId: theirs, amount: 1 })).statusCode).toBe(403);

    // a later event is delivered after every earlier one (one relay, id order): then count
    await deposit(t, admin, theirs, 5);
    await awaitAuditEvent(t, admin, (e) => e.type === 'account.deposit' && e.data.accountId === theirs, {
      query: { type: 'account.deposit' },
      timeoutMs: VISIBLE_WITHIN_MS,
    });
    const transfers = (await auditEvents(t, admin, { type: 'transfer.completed' })).filter((e) => e.data.fromAccountId === mine);
    expect(transfers.map((e) => e.subjectId)).toEqual([txId]);
  });

  it('keeps every secret out of every event', async () => {
    const hashes = await t.app.get(DataSource).query<Array<{ password_hash: string }>>('SELECT password_hash FROM users');
    for (const row of hashes) secrets.add(row.password_hash);
    const tokenHashes = await t.app.get(DataSource).query<Array<{ token_hash: string }>>('SELECT token_hash FROM refresh_tokens');
    for (const row of tokenHashes) secrets.add(row.token_hash);
    const all = await auditEvents(t, admin);
    expect(all.length).toBeGreaterThan(20);
    const text = JSON.stringify(all);
    const leaked = [...secrets].filter((secret) => text.includes(secret));
    expect(leaked).toEqual([]);
    expect(secrets.size).toBeGreaterThan(20);
  });

  it('is admin only, 404 for an unknown id, 400 for page params and a bad cursor', async () => {
    const user = await signUp(t);
    const [one] = await auditEvents(t, admin, {}, 1);
    for (const url of ['/api/v1/audit-events', `/api/v1/audit-events/${one!.id}`]) {
      expect((await t.request({ method: 'GET', url })).statusCode).toBe(401);
      expect((await t.request({ method: 'GET', url, headers: bearer(user.accessToken) })).statusCode).toBe(403);
      expect((await t.request({ method: 'GET', url, headers: bearer(admin.accessToken) })).statusCode).toBe(200);
    }
    expect(
      json(await t.request({ method: 'GET', url: `/api/v1/audit-events/${one!.id}`, headers: bearer(admin.accessToken) })).data,
    ).toEqual(one);
    const missing = await t.request({
      method: 'GET',
      url: '/api/v1/audit-events/01900000-0000-7000-8000-000000000000',
      headers: bearer(admin.accessToken),
    });
    expect(missing.statusCode).toBe(404);
    for (const query of ['page=1', 'pageSize=10', 'after=not-a-cursor', 'limit=0', 'limit=101', 'since=yesterday']) {
      const res = await t.request({ method: 'GET', url: `/api/v1/audit-events?${query}`, headers: bearer(admin.accessToken) });
      expect([query, res.statusCode]).toEqual([query, 400]);
    }
    // a cursor of one filter is not one of another
    const page = json(await t.request({ method: 'GET', url: '/api/v1/audit-events?limit=1', headers: bearer(admin.accessToken) }));
    const foreign = await t.request({
      method: 'GET',
      url: `/api/v1/audit-events?limit=1&type=user.registered&after=${page.meta.cursor.next}`,
      headers: bearer(admin.accessToken),
    });
    expect(json(foreign).error.code).toBe('BAD_REQUEST');
  });

  it('walks every event once, newest first, and filters by type, actor, subject and time', async () => {
    await outboxSettled(t); // the earlier tests' events all listed: the walks below compare like with like
    const all = await auditEvents(t, admin);
    const ids = all.map((e) => e.id);
    expect([...ids].sort().reverse()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect((await auditEvents(t, admin, {}, 3)).map((e) => e.id)).toEqual(ids);

    const byType = await auditEvents(t, admin, { type: 'auth.login_succeeded' }, 2);
    expect(byType.map((e) => e.id)).toEqual(all.filter((e) => e.type === 'auth.login_succeeded').map((e) => e.id));
    expect(byType.length).toBeGreaterThan(2);

    const byActor = await auditEvents(t, admin, { actorId: admin.id }, 2);
    expect(byActor.map((e) => e.id)).toEqual(all.filter((e) => e.actorId === admin.id).map((e) => e.id));
    expect(byActor.length).toBeGreaterThan(2);

    const subject = all.find((e) => e.type === 'auth.password_changed')!.subjectId!; // the auth test's user: many events
    const bySubject = await auditEvents(t, admin, { subjectId: subject.toUpperCase() }, 2);
    expect(bySubject.map((e) => e.id)).toEqual(all.filter((e) => e.subjectId === subject).map((e) => e.id));
    expect(bySubject.length).toBeGreaterThan(2);

    // since inclusive, until exclusive: bounds on an event's own timestamp
    const middle = all[Math.floor(all.length / 2)]!;
    const since = await auditEvents(t, admin, { since: middle.occurredAt }, 4);
    expect(since.map((e) => e.id)).toEqual(all.filter((e) => e.occurredAt >= middle.occurredAt).map((e) => e.id));
    const until = await auditEvents(t, admin, { until: middle.occurredAt }, 4);
    expect(until.map((e) => e.id)).toEqual(all.filter((e) => e.occurredAt < middle.occurredAt).map((e) => e.id));
    expect(since.length + until.length).toBe(all.length);
    const both = await auditEvents(t, admin, { type: 'auth.login_succeeded', since: middle.occurredAt }, 1);
    expect(both.map((e) => e.id)).toEqual(
      all.filter((e) => e.type === 'auth.login_succeeded' && e.occurredAt >= middle.occurredAt).map((e) => e.id),
    );
  });
});
