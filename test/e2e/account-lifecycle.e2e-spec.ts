import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { emlFileName } from '../../src/core/mail/file-transport';
import { MAIL_RETENTION_MS, MailRelay } from '../../src/core/mail/mail-relay';
import { AuthService } from '../../src/modules/auth/auth.service';
import { OneTimeToken } from '../../src/modules/auth/one-time-token.entity';
import { Session as SessionRow } from '../../src/modules/auth/session.entity';
import { AuditEventView, auditEvents, awaitAuditEvent } from '../support/audit';
import { ADMIN_ENV, adminSession, bearer, login, register, Session, signUp, uniqueEmail } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv } from '../support/isolated-env';
import { openAccount } from '../support/money';
import { outboxSettled as outboxSettledFor } from '../support/outbox';
import { parseMessage, ParsedMessage, startSmtpServer, TestSmtpServer } from '../support/smtp';
import { holdRelays, mailSettled as mailSettledFor } from '../support/relays';
import { recordStatements } from '../support/statement-recorder';
import { json, startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/*
 * The account lifecycle (docs/API.md, "Account lifecycle"): sessions a user can list and end,
 * password reset and email verification by mail. Mails go to a real SMTP server inside this
 * process (`smtp-server`), or to `.eml` files without SMTP_URL; the tests read what arrived.
 */
const AUTH = '/api/v1/auth';
const RESET_SUBJECT = 'Reset your password';
const VERIFY_SUBJECT = 'Verify your email address';

/** The token of the link in a mail (`…?token=<token>`), from the plain-text part. */
function tokenOf(mail: ParsedMessage): string {
  const match = /\?token=([A-Za-z0-9_-]+)/.exec(mail.text);
  if (!match) throw new Error(`no link in: ${mail.text}`);
  return match[1]!;
}

describe('account lifecycle over SMTP', () => {
  let env: IsolatedEnv;
  let smtp: TestSmtpServer;
  let t: TestApp;
  let admin: Session;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    smtp = await startSmtpServer();
    t = await startTestApp(env, {
      env: { ...ADMIN_ENV, SMTP_URL: smtp.url, APP_URL: 'https://app.example.test/base', MAIL_FROM: 'Acme <no-reply@acme.test>' },
    });
    admin = await adminSession(t);
  });

  afterAll(async () => {
    await t?.close();
    await smtp?.stop();
    await env?.destroy();
  });

  const call = (token: string | null, method: 'GET' | 'POST' | 'DELETE' | 'PATCH', url: string, payload?: object) =>
    t.request({ method, url, payload, headers: token ? bearer(token) : {} });
  const me = (accessToken: string) => call(accessToken, 'GET', `${AUTH}/me`);
  const refresh = (refreshToken: string) => t.request({ method: 'POST', url: `${AUTH}/refresh`, payload: { refreshToken } });
  const forgot = (email: string) => t.request({ method: 'POST', url: `${AUTH}/password/forgot`, payload: { email } });
  const reset = (token: string, newPassword = 'a-new-password-42') =>
    t.request({ method: 'POST', url: `${AUTH}/password/reset`, payload: { token, newPassword } });
  const verify = (token: string) => t.request({ method: 'POST', url: `${AUTH}/email/verify`, payload: { token } });

  /** Mails to `to` with this subject, in arrival order. */
  const mailsTo = (to: string, subject: string) => smtp.messages.filter((m) => m.to === to && m.subject === subject);
  /** The `n`th mail (1-based) to `to` with this subject, once it has arrived. */
  async function nthMail(to: string, subject: string, n = 1): Promise<ParsedMessage> {
    await waitFor(() => mailsTo(to, subject).length >= n, 10_000, 25);
    return mailsTo(to, subject)[n - 1]!;
  }
  /** Every queued mail has been dealt with (sent or dropped). */
  const mailSettled = () => mailSettledFor(t);
  const tokenRows = (userId: string) =>
    t.app.get(DataSource).query<Array<Record<string, unknown>>>('SELECT * FROM one_time_tokens WHERE user_id = ?', [userId]);

  describe('sessions', () => {
    it('lists the caller’s sessions newest first, with agent, address and the current one marked; nobody else’s', async () => {
      const user = await register(t);
      const first = json(
        await t.request({
          method: 'POST',
          url: `${AUTH}/login`,
          payload: { email: user.email, password: user.password },
          headers: { 'user-agent': 'Phone/1.0\u0007' },
        }),
      ).data;
      const second = await login(t, user.email, user.password);
      await signUp(t); // another user's session is not listed

      const res = await call(second.accessToken, 'GET', `${AUTH}/sessions`);
      expect(res.statusCode).toBe(200);
      const sessions = json(res).data as Array<Record<string, unknown>>;
      expect(sessions).toHaveLength(2);
      expect(Object.keys(sessions[0]!).sort()).toEqual(['createdAt', 'current', 'id', 'ip', 'lastUsedAt', 'userAgent']);
      expect(sessions.map((s) => s.current)).toEqual([true, false]);
      expect(sessions[1]).toMatchObject({ userAgent: 'Phone/1.0', ip: '127.0.0.1' }); // the control character removed
      expect(String(sessions[0]!.id) > String(sessions[1]!.id)).toBe(true);
      // the other session marks itself current
      const fromFirst = json(await call(first.accessToken, 'GET', `${AUTH}/sessions`)).data as Array<{ id: string; current: boolean }>;
      expect(fromFirst.find((s) => s.current)?.id).toBe(sessions[1]!.id);
    });

    it('a refresh moves lastUsedAt and keeps the session', async () => {
      const session = await signUp(t);
      const [before] = json(await call(session.accessToken, 'GET', `${AUTH}/sessions`)).data;
      const pair = json(await refresh(session.refreshToken)).data;
      const [after] = json(await call(pair.accessToken, 'GET', `${AUTH}/sessions`)).data;
      expect(after.id).toBe(before.id);
      expect(after.current).toBe(true);
      expect(Date.parse(after.lastUsedAt)).toBeGreaterThanOrEqual(Date.parse(before.lastUsedAt));
    });

    it('DELETE /sessions/:id ends that session at once (its access and refresh tokens fail); the others live', async () => {
      const user = await register(t);
      const laptop = await login(t, user.email, user.password);
      const phone = await login(t, user.email, user.password);
      const sessions = json(await call(laptop.accessToken, 'GET', `${AUTH}/sessions`)).data as Array<{ id: string; current: boolean }>;
      const phoneSession = sessions.find((s) => !s.current)!;

      const res = await call(laptop.accessToken, 'DELETE', `${AUTH}/sessions/${phoneSession.id}`);
      expect(res.statusCode).toBe(204);
      expect((await me(phone.accessToken)).statusCode).toBe(401);
      expect((await refresh(phone.refreshToken)).statusCode).toBe(401);
      expect((await me(laptop.accessToken)).statusCode).toBe(200);
      expect((await refresh(laptop.refreshToken)).statusCode).toBe(200);
      expect((json(await call(laptop.accessToken, 'GET', `${AUTH}/sessions`)).data as unknown[]).map((s: any) => s.id)).not.toContain(
        phoneSession.id,
      );
      // ended: gone from the list, and a second DELETE is 404
      expect((await call(laptop.accessToken, 'DELETE', `${AUTH}/sessions/${phoneSession.id}`)).statusCode).toBe(404);
    });

    it("refuses another user's session id with 404, and ends nothing", async () => {
      const alice = await signUp(t);
      const bob = await signUp(t);
      const [bobs] = json(await call(bob.accessToken, 'GET', `${AUTH}/sessions`)).data as Array<{ id: string }>;
      const res = await call(alice.accessToken, 'DELETE', `${AUTH}/sessions/${bobs!.id}`);
      expect(res.statusCode).toBe(404);
      expect(json(res).error.code).toBe('NOT_FOUND');
      expect((await me(bob.accessToken)).statusCode).toBe(200);
      expect((await refresh(bob.refreshToken)).statusCode).toBe(200);
      expect((await call(alice.accessToken, 'DELETE', `${AUTH}/sessions/not-a-uuid`)).statusCode).toBe(400);
      expect((await t.request({ method: 'GET', url: `${AUTH}/sessions` })).statusCode).toBe(401);
    });

    it('DELETE /sessions ends every session but the current one', async () => {
      const user = await register(t);
      const others = [await login(t, user.email, user.password), await login(t, user.email, user.password)];
      const current = await login(t, user.email, user.password);
      expect((await call(current.accessToken, 'DELETE', `${AUTH}/sessions`)).statusCode).toBe(204);
      for (const other of others) {
        expect((await me(other.accessToken)).statusCode).toBe(401);
        expect((await refresh(other.refreshToken)).statusCode).toBe(401);
      }
      expect((await me(current.accessToken)).statusCode).toBe(200);
      const left = json(await call(current.accessToken, 'GET', `${AUTH}/sessions`)).data as Array<{ current: boolean }>;
      expect(left).toEqual([expect.objectContaining({ current: true })]);
    });

    it('a session past its absolute end is no longer listed, but its last access token can still be ended at once', async () => {
      const user = await register(t);
      const old = await login(t, user.email, user.password);
      const current = await login(t, user.email, user.password);
      const [, oldSession] = json(await call(current.accessToken, 'GET', `${AUTH}/sessions`)).data as Array<{ id: string }>;
      // what JWT_REFRESH_ABSOLUTE_TTL later looks like, minutes after its last refresh: its refresh token is done, its access token not yet
      await t.app
        .get(DataSource)
        .getRepository(SessionRow)
        .update({ id: oldSession!.id }, { expiresAt: new Date(Date.now() - 1000) });
      expect((json(await call(current.accessToken, 'GET', `${AUTH}/sessions`)).data as unknown[]).length).toBe(1);
      expect((await me(old.accessToken)).statusCode).toBe(200);
      expect((await call(current.accessToken, 'DELETE', `${AUTH}/sessions/${oldSession!.id}`)).statusCode).toBe(204);
      expect((await me(old.accessToken)).statusCode).toBe(401);

      // the same through DELETE /sessions
      const another = await login(t, user.email, user.password);
      const [newest] = json(await call(another.accessToken, 'GET', `${AUTH}/sessions`)).data as Array<{ id: string }>;
      await t.app
        .get(DataSource)
        .getRepository(SessionRow)
        .update({ id: newest!.id }, { expiresAt: new Date(Date.now() - 1000) });
      expect((await call(current.accessToken, 'DELETE', `${AUTH}/sessions`)).statusCode).toBe(204);
      expect((await me(another.accessToken)).statusCode).toBe(401);
      expect((await me(current.accessToken)).statusCode).toBe(200);
    });

    it('auth.session_ended is recorded for each session ended, with its id and no token', async () => {
      const user = await register(t);
      const a = await login(t, user.email, user.password);
      const b = await login(t, user.email, user.password);
      const ids = (json(await call(b.accessToken, 'GET', `${AUTH}/sessions`)).data as Array<{ id: string }>).map((s) => s.id);
      expect((await call(b.accessToken, 'DELETE', `${AUTH}/sessions`)).statusCode).toBe(204); // ends a's
      await t.request({ method: 'POST', url: `${AUTH}/logout`, headers: bearer(b.accessToken), payload: { refreshToken: b.refreshToken } });
      const isEnded = (e: AuditEventView) => e.type === 'auth.session_ended' && e.subjectId === user.id;
      await waitFor(async () => (await auditEvents(t, admin, { type: 'auth.session_ended', subjectId: user.id })).length === 2, 10_000, 25);
      const ended = (await auditEvents(t, admin, { subjectId: user.id })).filter(isEnded);
      expect(ended.map((e) => e.data.sessionId).sort()).toEqual([...ids].sort());
      expect(ended.every((e) => Object.keys(e.data).join() === 'sessionId')).toBe(true);
      expect(JSON.stringify(ended)).not.toContain(a.refreshToken);
    });
  });

  describe('password reset', () => {
    it('mails a link; the token sets the password, ends every session at once and verifies the email', async () => {
      const user = await register(t);
      const sessions = [await login(t, user.email, user.password), await login(t, user.email, user.password)];
      const res = await forgot(user.email.toUpperCase());
      expect(res.statusCode).toBe(202);
      expect(json(res).data).toEqual({ message: 'If an account has this email, a password reset link is on its way' });

      const mail = await nthMail(user.email, RESET_SUBJECT);
      expect(mail.from).toBe('no-reply@acme.test');
      expect(mail.text).toContain(`https://app.example.test/base/reset-password?token=${tokenOf(mail)}`);
      expect(mail.html).toContain(`https://app.example.test/base/reset-password?token=${tokenOf(mail)}`);
      expect(mail.text).toContain('30 minutes');
      expect(mail.raw).not.toContain(user.password);
      expect(tokenOf(mail).length).toBeGreaterThanOrEqual(43); // 256 bits, base64url

      expect((await reset(tokenOf(mail), 'brand-new-password-1')).statusCode).toBe(204);
      for (const session of sessions) {
        expect((await me(session.accessToken)).statusCode).toBe(401);
        expect((await refresh(session.refreshToken)).statusCode).toBe(401);
      }
      const fresh = await login(t, user.email, 'brand-new-password-1');
      expect(
        (await t.request({ method: 'POST', url: `${AUTH}/login`, payload: { email: user.email, password: user.password } })).statusCode,
      ).toBe(401);
      expect(json(await me(fresh.accessToken)).data.emailVerifiedAt).toEqual(expect.any(String));
      // only the hash is stored
      const rows = (await tokenRows(user.id)).filter((row) => row.purpose === 'password_reset');
      expect(rows).toHaveLength(1);
      expect(JSON.stringify(rows)).not.toContain(tokenOf(mail));
      expect(rows[0]!.used_at).not.toBeNull();
    });

    it('answers an unknown email the same, and mails nothing', async () => {
      const known = await register(t);
      const unknown = uniqueEmail('nobody');
      const a = await forgot(unknown);
      const b = await forgot(known.email);
      expect(a.statusCode).toBe(b.statusCode);
      expect(json(a).data).toEqual(json(b).data);
      expect(Object.keys(json(a).meta).sort()).toEqual(Object.keys(json(b).meta).sort());
      expect(Object.keys(a.headers).sort()).toEqual(Object.keys(b.headers).sort());
      await nthMail(known.email, RESET_SUBJECT);
      await mailSettled(); // the unknown address's job has been dealt with too
      expect(smtp.messages.filter((m) => m.to === unknown)).toEqual([]);
      // and its audit says nothing either: auth.password_reset_requested for the known address only (the composer
      // published both, if at all, before its mail went out; the outbox delivers them later)
      await outboxSettledFor(t);
      const requested = await auditEvents(t, admin, { type: 'auth.password_reset_requested' });
      expect(requested.some((e) => e.subjectId === known.id)).toBe(true);
      expect(JSON.stringify(requested)).not.toContain(unknown);
    });

    it('does the same database work for an unknown email as for a known one: one transaction queueing one mail, no account read', async () => {
      const known = await register(t);
      await mailSettled();
      // both relays held meanwhile: the mail composer does read the account, later, outside the request, and
      // either relay's own statements (an idle look, a delivery) could land in one recording and not the other
      const held = await holdRelays(t);
      const recorder = recordStatements(t.app.get(DataSource));
      const workFor = async (email: string) => {
        recorder.clear();
        expect((await forgot(email)).statusCode).toBe(202);
        return recorder.statements();
      };
      try {
        const forKnown = await workFor(known.email);
        const forUnknown = await workFor(uniqueEmail('nobody'));
        expect(forUnknown).toEqual(forKnown);
        expect(forKnown).toEqual([
          expect.stringMatching(/^(START TRANSACTION|BEGIN)/),
          expect.stringMatching(/^INSERT INTO\W+mail_queue/i),
          'COMMIT',
        ]);
      } finally {
        recorder.stop();
        held.release();
      }
      await mailSettled();
    });

    it('a token works once; two concurrent uses give one reset', async () => {
      const user = await register(t);
      await forgot(user.email);
      const token = tokenOf(await nthMail(user.email, RESET_SUBJECT));
      const [one, two] = await Promise.all([reset(token, 'first-choice-pass-1'), reset(token, 'second-choice-pass-2')]);
      expect([one.statusCode, two.statusCode].sort()).toEqual([204, 400]);
      const refused = one.statusCode === 400 ? one : two;
      expect(json(refused).error.code).toBe('TOKEN_INVALID');
      const winner = one.statusCode === 204 ? 'first-choice-pass-1' : 'second-choice-pass-2';
      await login(t, user.email, winner);
      expect(json(await reset(token, 'third-choice-pass-3')).error.code).toBe('TOKEN_INVALID');
    });

    /** What a minute later looks like for the user's reset links: made before the mail cooldown. */
    const minuteLater = (userId: string) =>
      t.app
        .get(DataSource)
        .getRepository(OneTimeToken)
        .update({ userId, purpose: 'password_reset' }, { createdAt: new Date(Date.now() - 61_000) });

    it('a newer link voids the older one', async () => {
      const user = await register(t);
      await forgot(user.email);
      const older = tokenOf(await nthMail(user.email, RESET_SUBJECT, 1));
      await minuteLater(user.id);
      await forgot(user.email);
      const newer = tokenOf(await nthMail(user.email, RESET_SUBJECT, 2));
      expect(newer).not.toBe(older);
      expect(json(await reset(older)).error.code).toBe('TOKEN_INVALID');
      expect((await reset(newer)).statusCode).toBe(204);
    });

    it('one reset mail a minute per account: asking again sooner answers the same, mails nothing and keeps the link', async () => {
      const user = await register(t);
      await forgot(user.email);
      const link = tokenOf(await nthMail(user.email, RESET_SUBJECT, 1));
      for (let i = 0; i < 3; i++) expect((await forgot(user.email)).statusCode).toBe(202);
      await mailSettled();
      expect(mailsTo(user.email, RESET_SUBJECT)).toHaveLength(1);
      expect((await reset(link)).statusCode).toBe(204); // not voided by the requests that followed
      // a used link does not hold the next one back
      await forgot(user.email);
      await nthMail(user.email, RESET_SUBJECT, 2);
    });

    it('an expired token is TOKEN_INVALID, and the purge removes it', async () => {
      const user = await register(t);
      await forgot(user.email);
      const token = tokenOf(await nthMail(user.email, RESET_SUBJECT));
      // what PASSWORD_RESET_TTL seconds later looks like: the row's expiry in the past
      await t.app
        .get(DataSource)
        .getRepository(OneTimeToken)
        .update({ userId: user.id }, { expiresAt: new Date(Date.now() - 1000) });
      const res = await reset(token);
      expect(res.statusCode).toBe(400);
      expect(json(res).error).toMatchObject({ code: 'TOKEN_INVALID', details: { token: [expect.any(String)] } });
      await login(t, user.email, user.password); // unchanged
      expect(await t.app.get(AuthService).purgeExpired()).toBeGreaterThanOrEqual(1); // the hourly sweep's work
      expect(await tokenRows(user.id)).toEqual([]); // the verification token went too: expired the same way
    });

    it('refuses an unknown or malformed token, and a common or short password, without changing anything', async () => {
      const user = await register(t);
      expect(json(await reset('A'.repeat(43))).error.code).toBe('TOKEN_INVALID');
      const missing = await t.request({ method: 'POST', url: `${AUTH}/password/reset`, payload: { newPassword: 'whatever-123' } });
      expect(json(missing).error.code).toBe('VALIDATION_ERROR');
      await forgot(user.email);
      const token = tokenOf(await nthMail(user.email, RESET_SUBJECT));
      for (const weak of ['password123', 'short']) {
        const res = await reset(token, weak);
        expect(res.statusCode).toBe(400);
        expect(json(res).error).toMatchObject({ code: 'VALIDATION_ERROR', details: { newPassword: expect.any(Array) } });
      }
      // the token was not used by the refusals
      expect((await reset(token, 'a-fine-password-7')).statusCode).toBe(204);
    });

    it('a verification token is not a reset token', async () => {
      const user = await register(t);
      const verification = tokenOf(await nthMail(user.email, VERIFY_SUBJECT));
      expect(json(await reset(verification)).error.code).toBe('TOKEN_INVALID');
    });

    it('records auth.password_reset_requested and auth.password_reset (and auth.email_verified), never the token', async () => {
      const user = await register(t);
      const res = await forgot(user.email);
      const token = tokenOf(await nthMail(user.email, RESET_SUBJECT));
      const requested = await awaitAuditEvent(t, admin, (e) => e.type === 'auth.password_reset_requested' && e.subjectId === user.id);
      expect(requested).toMatchObject({ actorId: null, requestId: json(res).meta.requestId, subjectType: 'user', data: {} });
      const done = await reset(token);
      await awaitAuditEvent(t, admin, (e) => e.type === 'auth.password_reset' && e.subjectId === user.id);
      const verified = await awaitAuditEvent(t, admin, (e) => e.type === 'auth.email_verified' && e.subjectId === user.id);
      expect(verified.requestId).toBe(done.headers['x-request-id']);
      expect(JSON.stringify(await auditEvents(t, admin, { subjectId: user.id }))).not.toContain(token);
    });
  });

  describe('email verification', () => {
    it('registration mails a link; the token verifies the email once', async () => {
      const user = await register(t);
      const mail = await nthMail(user.email, VERIFY_SUBJECT);
      expect(mail.text).toContain(`https://app.example.test/base/verify-email?token=${tokenOf(mail)}`);
      expect(mail.text).toContain('1 day');
      const session = await login(t, user.email, user.password);
      expect(json(await me(session.accessToken)).data.emailVerifiedAt).toBeNull();

      expect((await verify(tokenOf(mail))).statusCode).toBe(204);
      expect(json(await me(session.accessToken)).data.emailVerifiedAt).toEqual(expect.any(String));
      expect(json(await verify(tokenOf(mail))).error.code).toBe('TOKEN_INVALID');
      await awaitAuditEvent(t, admin, (e) => e.type === 'auth.email_verified' && e.subjectId === user.id);
    });

    it('resend mails a new link and voids the previous one; once verified, it sends nothing', async () => {
      const session = await signUp(t);
      const first = tokenOf(await nthMail(session.email, VERIFY_SUBJECT, 1));
      const res = await call(session.accessToken, 'POST', `${AUTH}/email/verify/resend`);
      expect(res.statusCode).toBe(202);
      const second = tokenOf(await nthMail(session.email, VERIFY_SUBJECT, 2));
      expect(json(await verify(first)).error.code).toBe('TOKEN_INVALID');
      expect((await verify(second)).statusCode).toBe(204);

      expect((await call(session.accessToken, 'POST', `${AUTH}/email/verify/resend`)).statusCode).toBe(202);
      await mailSettled();
      expect(mailsTo(session.email, VERIFY_SUBJECT)).toHaveLength(2);
      expect((await t.request({ method: 'POST', url: `${AUTH}/email/verify/resend` })).statusCode).toBe(401);
    });

    it('changing the email clears the verification and mails the new address; the old link proves nothing', async () => {
      const session = await signUp(t);
      const oldLink = tokenOf(await nthMail(session.email, VERIFY_SUBJECT));
      const next = uniqueEmail('moved');
      const patched = await call(session.accessToken, 'PATCH', `/api/v1/users/${session.id}`, {
        email: next,
        currentPassword: session.password,
      });
      expect(patched.statusCode).toBe(200);
      expect(json(patched).data).toMatchObject({ email: next, emailVerifiedAt: null });
      const newLink = tokenOf(await nthMail(next, VERIFY_SUBJECT));
      expect(json(await verify(oldLink)).error.code).toBe('TOKEN_INVALID');
      expect((await verify(newLink)).statusCode).toBe(204);
      expect(json(await me(session.accessToken)).data).toMatchObject({ email: next, emailVerifiedAt: expect.any(String) });
    });
  });

  describe('what a stolen session or an old link cannot do', () => {
    it("changing one's own email needs the current password: a session alone cannot move the account to another mailbox", async () => {
      const victim = await signUp(t);
      const attacker = uniqueEmail('attacker');
      const move = (payload: object) => call(victim.accessToken, 'PATCH', `/api/v1/users/${victim.id}`, payload);
      const without = await move({ email: attacker });
      expect(without.statusCode).toBe(400);
      expect(json(without).error).toMatchObject({ code: 'VALIDATION_ERROR', details: { currentPassword: [expect.any(String)] } });
      const wrong = await move({ email: attacker, currentPassword: 'not-the-password' });
      expect(wrong.statusCode).toBe(401);
      expect(json(wrong).error.details).toEqual({ currentPassword: ['currentPassword is incorrect'] });
      expect(json(await me(victim.accessToken)).data.email).toBe(victim.email);
      // so a reset asked for the attacker's address mails nobody
      await forgot(attacker);
      await mailSettled();
      expect(smtp.messages.filter((m) => m.to === attacker)).toEqual([]);
      // a name needs no password; an admin moves another user's email without one
      expect((await move({ name: 'Renamed' })).statusCode).toBe(200);
      expect((await call(admin.accessToken, 'PATCH', `/api/v1/users/${victim.id}`, { email: uniqueEmail('moved') })).statusCode).toBe(200);
    });

    it('a reset link stops working when the password changes, when every session ends, and when the email moves', async () => {
      const user = await signUp(t);
      const linkNow = async (n: number) => {
        await forgot(user.email);
        return tokenOf(await nthMail(user.email, RESET_SUBJECT, n));
      };
      const first = await linkNow(1);
      const changed = await call(user.accessToken, 'PATCH', `${AUTH}/me/password`, {
        currentPassword: user.password,
        newPassword: 'changed-password-1',
      });
      expect(changed.statusCode).toBe(204);
      expect(json(await reset(first)).error.code).toBe('TOKEN_INVALID');

      const second = await linkNow(2);
      const session = await login(t, user.email, 'changed-password-1');
      expect((await call(session.accessToken, 'POST', `${AUTH}/logout-all`)).statusCode).toBe(204);
      expect(json(await reset(second)).error.code).toBe('TOKEN_INVALID');

      const third = await linkNow(3);
      expect((await call(admin.accessToken, 'PATCH', `/api/v1/users/${user.id}`, { email: uniqueEmail('elsewhere') })).statusCode).toBe(
        200,
      );
      expect(json(await reset(third)).error.code).toBe('TOKEN_INVALID');
    });

    it('a rotated refresh token presented again ends its session once; later replays record nothing more', async () => {
      const session = await signUp(t);
      expect((await refresh(session.refreshToken)).statusCode).toBe(200);
      for (let i = 0; i < 3; i++) expect((await refresh(session.refreshToken)).statusCode).toBe(401);
      await outboxSettledFor(t);
      const events = await auditEvents(t, admin, { subjectId: session.id });
      expect(events.filter((e) => e.type === 'auth.refresh_reuse_detected')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'auth.session_ended')).toHaveLength(1);
      expect((await me(session.accessToken)).statusCode).toBe(401); // the session's access token died with it
    });

    it('refuses an email with quotes, spaces or control characters (it could not go into a mail header)', async () => {
      for (const email of ['"a b"@example.com', '"tab\tx"@example.com', 'quo"te@example.com']) {
        for (const url of [`${AUTH}/register`, `${AUTH}/password/forgot`]) {
          const payload = url.endsWith('register') ? { email, password: 'password-12345', name: 'Q' } : { email };
          const res = await t.request({ method: 'POST', url, payload });
          expect({ email, url, status: res.statusCode, code: json(res).error?.code }).toEqual({
            email,
            url,
            status: 400,
            code: 'VALIDATION_ERROR',
          });
        }
      }
    });
  });

  describe('REQUIRE_VERIFIED_EMAIL', () => {
    it('off by default: an unverified user opens accounts', async () => {
      const session = await signUp(t);
      await openAccount(t, session);
    });

    it('on: opening an account and transferring are 403 EMAIL_NOT_VERIFIED until the email is verified', async () => {
      const strict = await startTestApp(env, { env: { ...ADMIN_ENV, SMTP_URL: smtp.url, REQUIRE_VERIFIED_EMAIL: 'true' } });
      try {
        const user = await register(strict);
        const session = { ...user, ...(await login(strict, user.email, user.password)) };
        const open = await strict.request({
          method: 'POST',
          url: '/api/v1/accounts',
          headers: bearer(session.accessToken),
          payload: { name: 'Main', currency: 'EUR' },
        });
        expect(open.statusCode).toBe(403);
        expect(json(open).error.code).toBe('EMAIL_NOT_VERIFIED');
        const move = await strict.request({
          method: 'POST',
          url: '/api/v1/transfers',
          headers: bearer(session.accessToken),
          payload: {
            fromAccountId: '01900000-0000-7000-8000-000000000001',
            toAccountId: '01900000-0000-7000-8000-000000000002',
            amount: 1,
          },
        });
        expect(move.statusCode).toBe(403);
        expect(json(move).error.code).toBe('EMAIL_NOT_VERIFIED');
        // reading is not gated
        expect((await strict.request({ method: 'GET', url: '/api/v1/accounts', headers: bearer(session.accessToken) })).statusCode).toBe(
          200,
        );

        const token = tokenOf(await nthMail(user.email, VERIFY_SUBJECT));
        // through this instance: without Redis each instance has its own cache (the README says so)
        expect((await strict.request({ method: 'POST', url: `${AUTH}/email/verify`, payload: { token } })).statusCode).toBe(204);
        // at once: the same access token
        const from = await openAccount(strict, session);
        const to = await openAccount(strict, session);
        const moved = await strict.request({
          method: 'POST',
          url: '/api/v1/transfers',
          headers: bearer(session.accessToken),
          payload: { fromAccountId: from, toAccountId: to, amount: 1 },
        });
        expect(json(moved).error.code).toBe('INSUFFICIENT_FUNDS'); // past the gate
      } finally {
        await strict.close();
      }
    });
  });

  describe('rate limits', () => {
    it('forgot counts per email across addresses, and per IP; the 429 says nothing about the account', async () => {
      const limited = await startTestApp(env, { env: { SMTP_URL: smtp.url, AUTH_RATE_LIMIT: '2', TRUST_PROXY: 'true' } });
      try {
        const from = (ip: string, email: string) =>
          limited.request({ method: 'POST', url: `${AUTH}/password/forgot`, payload: { email }, headers: { 'x-forwarded-for': ip } });
        const known = await register(limited);
        const unknown = uniqueEmail('ghost');
        for (const email of [known.email, unknown]) {
          expect((await from('198.51.100.1', email)).statusCode).toBe(202);
          expect((await from('198.51.100.2', email)).statusCode).toBe(202);
          const third = await from('198.51.100.3', email); // a fresh IP: the email's own limit
          expect(third.statusCode).toBe(429);
          expect(json(third).error.code).toBe('RATE_LIMITED');
          expect(third.headers['retry-after']).toBeDefined();
        }
        // per IP, whatever the email
        expect((await from('198.51.100.9', uniqueEmail('a'))).statusCode).toBe(202);
        expect((await from('198.51.100.9', uniqueEmail('b'))).statusCode).toBe(202);
        expect((await from('198.51.100.9', uniqueEmail('c'))).statusCode).toBe(429);
      } finally {
        await limited.close();
      }
    });
  });
});

describe('account lifecycle without SMTP_URL: .eml files', () => {
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

  it('writes each mail as an .eml file under MAIL_DIR; its link works', async () => {
    const user = await register(t);
    const dir = env.env.MAIL_DIR!;
    const files = async () => {
      const names = readdirSync(dir).filter((name) => name.endsWith('.eml'));
      return Promise.all(names.map(async (name) => parseMessage(readFileSync(join(dir, name)))));
    };
    let mail: ParsedMessage | undefined;
    await waitFor(
      async () => (mail = (await files()).find((m) => m.to === user.email && m.subject === VERIFY_SUBJECT)) !== undefined,
      10_000,
      25,
    );
    expect(mail!.html).toContain('verify-email?token=');
    expect(mail!.text).toContain('http://localhost:3000/verify-email?token=');
    expect((await t.request({ method: 'POST', url: `${AUTH}/email/verify`, payload: { token: tokenOf(mail!) } })).statusCode).toBe(204);
  });

  it('the sweep deletes .eml files past the retention (and stale temp files), and leaves newer ones and files it did not write', async () => {
    const dir = env.env.MAIL_DIR!;
    const mails = () => readdirSync(dir).filter((name) => name.endsWith('.eml'));
    const before = mails().length;
    await register(t); // its verification mail is the last one this app writes
    await waitFor(() => mails().length > before, 10_000, 25);
    const fresh = mails();
    const past = new Date(Date.now() - MAIL_RETENTION_MS - 60_000);
    const stale = emlFileName(past, '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b');
    const within = emlFileName(new Date(Date.now() - MAIL_RETENTION_MS + 3_600_000), '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c');
    copyFileSync(join(dir, fresh[0]!), join(dir, stale));
    copyFileSync(join(dir, fresh[0]!), join(dir, within));
    writeFileSync(join(dir, `.${emlFileName(past, 'interrupted')}.tmp`), 'half a mail');
    writeFileSync(join(dir, '2019-notes.eml'), 'not ours');

    await t.app.get(MailRelay).purge();

    expect(readdirSync(dir).sort()).toEqual([...fresh, within, '2019-notes.eml'].sort());
  });
});

describe('account lifecycle with the SMTP server down at request time', () => {
  let env: IsolatedEnv;
  let smtp: TestSmtpServer;
  let t: TestApp;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    smtp = await startSmtpServer();
    t = await startTestApp(env, { env: { SMTP_URL: smtp.url } });
  });

  afterAll(async () => {
    await t?.close();
    await smtp?.stop();
    await env?.destroy();
  });

  it('the request succeeds; the mail arrives once the server is back', async () => {
    const port = smtp.port;
    await smtp.stop();
    const user = await register(t); // its verification mail cannot go out
    const res = await t.request({ method: 'POST', url: `${AUTH}/password/forgot`, payload: { email: user.email } });
    expect(res.statusCode).toBe(202);
    const dataSource = t.app.get(DataSource);
    // tried, failed, waiting to retry
    await waitFor(
      async () => (await dataSource.query<unknown[]>('SELECT id FROM mail_queue WHERE attempts > 0 AND done_at IS NULL')).length === 2,
      10_000,
      25,
    );

    smtp = await startSmtpServer({ port });
    // the relay's back-off brings both (1 s, 2 s, 4 s … after each failed try)
    await waitFor(() => smtp.messages.filter((m) => m.to === user.email).length === 2, 30_000, 50);
    const reset = smtp.messages.find((m) => m.subject === RESET_SUBJECT)!;
    expect(
      (
        await t.request({
          method: 'POST',
          url: `${AUTH}/password/reset`,
          payload: { token: tokenOf(reset), newPassword: 'after-the-outage-1' },
        })
      ).statusCode,
    ).toBe(204);
    expect(smtp.messages.filter((m) => m.to === user.email)).toHaveLength(2); // once each
    // composed again at each try (a fresh token each time), but requested once: one audit event
    await outboxSettledFor(t);
    const requested = await dataSource.query<unknown[]>('SELECT id FROM audit_events WHERE type = ? AND subject_id = ?', [
      'auth.password_reset_requested',
      user.id,
    ]);
    expect(requested).toHaveLength(1);
  });
});

describe('account lifecycle with a mailbox the SMTP server refuses for good', () => {
  let env: IsolatedEnv;
  let smtp: TestSmtpServer;
  let t: TestApp;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    smtp = await startSmtpServer({ refuse: (address) => address.startsWith('gone-') });
    t = await startTestApp(env, { env: { SMTP_URL: smtp.url } });
  });

  afterAll(async () => {
    await t?.close();
    await smtp?.stop();
    await env?.destroy();
  });

  it('gives the mail up at its first 550 (no retries for a day); the other mails go out', async () => {
    const gone = await register(t, { email: uniqueEmail('gone') });
    const kept = await register(t);
    const dataSource = t.app.get(DataSource);
    const jobTo = async (email: string) =>
      (
        await dataSource.query<Array<{ outcome: string | null; attempts: number | string }>>(
          'SELECT outcome, attempts FROM mail_queue WHERE recipient = ?',
          [email],
        )
      )[0];
    await waitFor(async () => (await jobTo(gone.email))?.outcome === 'failed', 10_000, 25);
    expect(Number((await jobTo(gone.email))!.attempts)).toBe(1);
    await smtp.waitFor((m) => m.to === kept.email);
  });
});
