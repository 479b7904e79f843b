import type { LightMyRequestResponse } from 'fastify';
import { createConnection } from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { PasswordHasher } from '../../src/modules/users/password-hasher';
import { UsersService } from '../../src/modules/users';
import { ADMIN_ENV, adminSession, bearer, login, Session, signUp } from '../support/factories';
import { createIsolatedEnv, IsolatedEnv, target } from '../support/isolated-env';
import { json, startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

const AUTH = '/api/v1/auth';

/**
 * Sessions that a password change, a logout-all or a deletion ends must stay ended, even for a
 * login, a refresh or a password change that was already under way: each test runs the ending
 * request at a chosen point inside the other one (by wrapping a real collaborator), so the
 * interleaving is exact.
 */
describe('auth: logins, refreshes and password changes racing the end of the sessions', () => {
  let env: IsolatedEnv;
  let t: TestApp;

  beforeAll(async () => {
    env = await createIsolatedEnv();
    // one pooled connection (MariaDB): the READ COMMITTED test's session setting then applies to every query the app runs
    t = await startTestApp(env, { env: { ...ADMIN_ENV, DB_POOL_SIZE: '1' } });
  });

  afterAll(async () => {
    await t?.close();
    await env?.destroy();
  });

  const loginRequest = (email: string, password: string) =>
    t.request({ method: 'POST', url: `${AUTH}/login`, payload: { email, password } });
  const refresh = (refreshToken: string) => t.request({ method: 'POST', url: `${AUTH}/refresh`, payload: { refreshToken } });
  const changePassword = (session: Session, newPassword: string) =>
    t.request({
      method: 'PATCH',
      url: `${AUTH}/me/password`,
      headers: bearer(session.accessToken),
      payload: { currentPassword: session.password, newPassword },
    });
  const logoutAll = (session: Session) => t.request({ method: 'POST', url: `${AUTH}/logout-all`, headers: bearer(session.accessToken) });
  const activeRefreshTokens = async (userId: string) => {
    const rows = await t.app
      .get(DataSource)
      .query<unknown[]>("SELECT id FROM refresh_tokens WHERE user_id = ? AND status = 'active'", [userId]);
    return rows.length;
  };

  /**
   * Runs `login` and, once argon2 has verified its password and before `verify` returns to the
   * login, `interleave` to completion: the login inserts its refresh token after that committed.
   */
  async function loginAround(interleave: () => Promise<LightMyRequestResponse>, email: string, password: string) {
    const hasher = t.app.get(PasswordHasher);
    const verify = hasher.verify.bind(hasher);
    let verified: boolean | undefined;
    let between: LightMyRequestResponse | undefined;
    const spy = jest.spyOn(hasher, 'verify').mockImplementation(async (hash, candidate) => {
      const ok = await verify(hash, candidate);
      if (verified === undefined) {
        verified = ok; // the login's check; the interleaved request's own checks pass straight through
        between = await interleave();
      }
      return ok;
    });
    try {
      const res = await loginRequest(email, password);
      return { res, verified, between };
    } finally {
      spy.mockRestore();
    }
  }

  /** Runs `refresh` and, once it has read the token's user and before it rotates, `interleave` to completion. */
  async function refreshAround(interleave: () => Promise<LightMyRequestResponse>, session: Session) {
    const users = t.app.get(UsersService);
    const findCached = users.findCached.bind(users);
    let between: LightMyRequestResponse | undefined;
    let armed = true;
    const spy = jest.spyOn(users, 'findCached').mockImplementation(async (id) => {
      const user = await findCached(id);
      if (armed && id === session.id) {
        armed = false; // the refresh's read; the interleaved request's own reads pass straight through
        between = await interleave();
      }
      return user;
    });
    try {
      const res = await refresh(session.refreshToken);
      return { res, between };
    } finally {
      spy.mockRestore();
    }
  }

  const expectBadCredentials = (res: LightMyRequestResponse) => {
    expect({ status: res.statusCode, error: json(res).error }).toEqual({
      status: 401,
      error: { code: 'UNAUTHORIZED', message: 'The email or password is incorrect' },
    });
  };

  describe('a login with the old password, verified before the sessions ended and finished after', () => {
    it('a password change: 401 (bad credentials), and no refresh token of the user is active', async () => {
      const victim = await signUp(t);
      const { res, verified, between } = await loginAround(() => changePassword(victim, 'new-password-456'), victim.email, victim.password);
      expect(verified).toBe(true);
      expect(between?.statusCode).toBe(204);
      expectBadCredentials(res);
      expect(await activeRefreshTokens(victim.id)).toBe(0);
      // whatever a broken login might have handed out is refused too
      if (res.statusCode === 200) expect((await refresh(json(res).data.refreshToken)).statusCode).toBe(401);
      // the new password logs in
      expect((await loginRequest(victim.email, 'new-password-456')).statusCode).toBe(200);
    });

    it('a logout-all: 401 (bad credentials), and no refresh token of the user is active', async () => {
      const victim = await signUp(t);
      const { res, verified, between } = await loginAround(() => logoutAll(victim), victim.email, victim.password);
      expect(verified).toBe(true);
      expect(between?.statusCode).toBe(204);
      expectBadCredentials(res);
      expect(await activeRefreshTokens(victim.id)).toBe(0);
      if (res.statusCode === 200) expect((await refresh(json(res).data.refreshToken)).statusCode).toBe(401);
      expect((await loginRequest(victim.email, victim.password)).statusCode).toBe(200);
    });

    it('a deletion of the user: 401 (bad credentials), and no refresh token is left', async () => {
      const admin = await adminSession(t);
      const doomed = await signUp(t);
      const remove = () => t.request({ method: 'DELETE', url: `/api/v1/users/${doomed.id}`, headers: bearer(admin.accessToken) });
      const { res, verified, between } = await loginAround(remove, doomed.email, doomed.password);
      expect(verified).toBe(true);
      expect(between?.statusCode).toBe(204);
      expectBadCredentials(res);
      expect(await activeRefreshTokens(doomed.id)).toBe(0);
    });
  });

  describe('a refresh that read the user before the sessions ended and rotates after', () => {
    it('a password change: 401, and no refresh token of the user is active', async () => {
      const victim = await signUp(t);
      const { res, between } = await refreshAround(() => changePassword(victim, 'new-password-456'), victim);
      expect(between?.statusCode).toBe(204);
      expect(res.statusCode).toBe(401);
      expect(await activeRefreshTokens(victim.id)).toBe(0);
      if (res.statusCode === 200) expect((await refresh(json(res).data.refreshToken)).statusCode).toBe(401);
    });

    it('a logout-all: 401, and no refresh token of the user is active', async () => {
      const victim = await signUp(t);
      const { res, between } = await refreshAround(() => logoutAll(victim), victim);
      expect(between?.statusCode).toBe(204);
      expect(res.statusCode).toBe(401);
      expect(await activeRefreshTokens(victim.id)).toBe(0);
      if (res.statusCode === 200) expect((await refresh(json(res).data.refreshToken)).statusCode).toBe(401);
    });
  });

  /**
   * Runs `change` and, once its current password is verified and while its new hash is computed
   * (argon2, off the event loop), `interleave` to completion: `change` writes after that committed.
   */
  async function changeAround(interleave: () => Promise<LightMyRequestResponse>, change: () => Promise<LightMyRequestResponse>) {
    const hasher = t.app.get(PasswordHasher);
    const hash = hasher.hash.bind(hasher);
    let between: LightMyRequestResponse | undefined;
    let armed = true;
    const spy = jest.spyOn(hasher, 'hash').mockImplementation(async (password) => {
      if (armed) {
        armed = false; // the paused change's hash; the interleaved request's own pass straight through
        between = await interleave();
      }
      return hash(password);
    });
    try {
      const res = await change();
      return { res, between };
    } finally {
      spy.mockRestore();
    }
  }

  describe('a password change whose current password was verified before the sessions ended and that writes after', () => {
    const expectCurrentPasswordIncorrect = (res: LightMyRequestResponse) => {
      // (a 204 has no body to parse)
      expect({ status: res.statusCode, error: res.body ? json(res).error : undefined }).toEqual({
        status: 401,
        error: {
          code: 'UNAUTHORIZED',
          message: 'The current password is incorrect',
          details: { currentPassword: ['currentPassword is incorrect'] },
        },
      });
    };

    it("another password change (the victim's): 401 (bad current password), and the newer password stands", async () => {
      // an attacker who knows the password P0 holds a session of the victim's account
      const victim = await signUp(t);
      const attacker: Session = { ...victim, ...(await login(t, victim.email, victim.password)) };
      const { res, between } = await changeAround(
        () => changePassword(victim, 'victim-fresh-password-1'),
        () => changePassword(attacker, 'attacker-chosen-password-2'),
      );
      expect(between?.statusCode).toBe(204);
      expectCurrentPasswordIncorrect(res);
      expect((await loginRequest(victim.email, 'victim-fresh-password-1')).statusCode).toBe(200);
      expect((await loginRequest(victim.email, 'attacker-chosen-password-2')).statusCode).toBe(401);
      // the session just opened, nothing of the attacker's
      expect(await activeRefreshTokens(victim.id)).toBe(1);
    });

    it('a logout-all: 401 (bad current password), and the password is unchanged', async () => {
      const victim = await signUp(t);
      const { res, between } = await changeAround(
        () => logoutAll(victim),
        () => changePassword(victim, 'never-stored-password-3'),
      );
      expect(between?.statusCode).toBe(204);
      expectCurrentPasswordIncorrect(res);
      expect((await loginRequest(victim.email, 'never-stored-password-3')).statusCode).toBe(401);
      expect((await loginRequest(victim.email, victim.password)).statusCode).toBe(200);
    });

    (target.mysql ? it : it.skip)('MariaDB: a change whose write waits for an uncommitted change sees it committed: 401', async () => {
      const victim = await signUp(t);
      const other = await createConnection(env.databaseUrl);
      try {
        // another password change in progress, done by hand: new hash and version, not yet committed
        await other.query('BEGIN');
        await other.query("UPDATE users SET password_hash = 'another-hash', token_version = token_version + 1 WHERE id = ?", [victim.id]);
        const pending = changePassword(victim, 'never-stored-password-4');
        // the change has verified the current password; its UPDATE waits for the row
        await waitFor(async () => {
          const [rows] = await other.query(
            `SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
             WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE()`,
          );
          return Number((rows as Array<{ n: number }>)[0]!.n) > 0;
        });
        await other.query('COMMIT');
        expectCurrentPasswordIncorrect(await pending);
        const [rows] = await other.query('SELECT password_hash AS hash FROM users WHERE id = ?', [victim.id]);
        expect((rows as Array<{ hash: string }>)[0]!.hash).toBe('another-hash');
      } finally {
        await other.end();
      }
    });
  });

  (target.mysql ? it : it.skip)(
    'MariaDB under READ COMMITTED: a login whose insert waits for an uncommitted logout-all sees it committed: 401',
    async () => {
      const victim = await signUp(t);
      const app = t.app.get(DataSource);
      const bumper = await createConnection(env.databaseUrl);
      await app.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
      try {
        // a logout-all in progress, done by hand: the version bumped and the refresh tokens revoked, not yet committed
        await bumper.query('BEGIN');
        await bumper.query('UPDATE users SET token_version = token_version + 1 WHERE id = ?', [victim.id]);
        await bumper.query("UPDATE refresh_tokens SET status = 'revoked' WHERE user_id = ?", [victim.id]);
        const pending = loginRequest(victim.email, victim.password);
        // the login has read the user (old version, committed) and verified the password; its insert waits for the row
        await waitFor(async () => {
          const [rows] = await bumper.query(
            `SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
             WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE() AND t.trx_query LIKE ?`,
            // this login's insert, not another statement still waiting (the outbox relay shares the one pooled connection)
            ['INSERT INTO `refresh_tokens`%'],
          );
          return Number((rows as Array<{ n: number }>)[0]!.n) > 0;
        });
        await bumper.query('COMMIT');
        expectBadCredentials(await pending);
        expect(await activeRefreshTokens(victim.id)).toBe(0);
      } finally {
        await bumper.end(); // first: a login still waiting holds the app's one connection
        await app.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      }
    },
  );
});
