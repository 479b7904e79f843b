import { Injectable, Logger } from '@nestjs/common';
import { canonicalEmail } from '../../core/auth/canonical-email';
import { CacheAside } from '../../core/cache/cache-aside.service';
import { Tx, UnitOfWork } from '../../core/database/unit-of-work';
import { NotFoundError, UnauthorizedError } from '../../core/errors/app-error';
import { LoginFailureLimiter } from '../../core/throttling/login-failure.limiter';
import { toUserRecord, UserRecord } from './dto/user.response';
import { PasswordHasher } from './password-hasher';
import { userCacheKey } from './user-cache';
import { User } from './user.entity';
import { UsersRepository } from './users.repository';

/** The caller's part of ending a user's sessions (the auth module's: revoking the refresh tokens), run in the given transaction. */
export type EndSessions = (tx: Tx) => Promise<void>;

/** A wrong current password, and a right one that stopped being the password before the change could be stored. */
function currentPasswordIncorrect(): UnauthorizedError {
  return new UnauthorizedError('The current password is incorrect', { currentPassword: ['currentPassword is incorrect'] });
}

/**
 * Passwords and the token version. A user's `tokenVersion` moves with anything that ends their
 * sessions (a password change, logout-all; a role change, in `UsersService.update`): a password
 * that was verified still counts only while the version read with its hash is stored. A login
 * checks that in the statement that stores its refresh token; a password change in the statement
 * that stores the new hash, so an older change cannot overwrite a newer one.
 *
 * Every password a client sends is checked holding one of its account email's failure slots
 * (`LoginFailureLimiter`): a wrong one keeps it, a right one gives it back. Failed logins and
 * wrong current passwords share that budget, so a session is no way around the limit.
 *
 * Ending the sessions bumps the version and runs `EndSessions` in one transaction, the user row
 * first. A login's conditional insert locks that row (shared) before it writes its token, so it
 * either commits first (and `EndSessions` revokes its token) or waits for the commit and finds
 * the new version (and inserts nothing). Taking the user row first, as the login does, also
 * keeps the two from deadlocking each other.
 */
@Injectable()
export class UserCredentialsService {
  private readonly security = new Logger('Security');

  constructor(
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
    private readonly cache: CacheAside,
    private readonly uow: UnitOfWork,
    private readonly failures: LoginFailureLimiter,
  ) {}

  /**
   * The user with these credentials (its `tokenVersion` is the one the password was checked
   * against), or null; 429 `RATE_LIMITED` once the email's failures are used up. Unknown emails
   * are verified against a dummy hash, so both failures take the same time.
   */
  async verify(email: string, password: string): Promise<UserRecord | null> {
    const canonical = canonicalEmail(email);
    const user = await this.counted(canonical, async () => {
      const found = await this.users.findByEmail(canonical);
      return (await this.hasher.verify(found?.passwordHash ?? null, password)) ? found : null;
    });
    return user ? toUserRecord(user) : null;
  }

  /**
   * Checks the current password, then in one transaction stores the new hash, bumps the token
   * version and runs `endSessions`. Done one after the other, a refresh between the bump and the
   * end of the sessions would mint an access token carrying the new version: it would outlive
   * the change. The hash is stored only over the version read with the hash that was verified:
   * a change (or logout-all, role change) that committed while argon2 ran makes this one a 401,
   * as a wrong current password, instead of silently undoing it.
   */
  async changePassword(id: string, currentPassword: string, newPassword: string, endSessions: EndSessions): Promise<void> {
    const user = await this.users.findById(id);
    if (!user) throw new NotFoundError('User', id);
    const verified = await this.counted(user.email, async () =>
      (await this.hasher.verify(user.passwordHash, currentPassword)) ? user : null,
    );
    if (!verified) {
      this.security.warn({ event: 'password.change_failed', userId: id, msg: 'password change refused: wrong current password' });
      throw currentPasswordIncorrect();
    }
    const passwordHash = await this.hasher.hash(newPassword);
    const changed = await this.uow.run(async (tx) => {
      if (!(await this.users.setPasswordInTx(tx, id, user.tokenVersion, passwordHash, new Date()))) return false;
      await endSessions(tx);
      return true;
    });
    if (changed) {
      await this.cache.invalidate(userCacheKey(id));
      return;
    }
    // nothing written: the user is gone, or the version read with the verified hash is no longer stored
    if (!(await this.users.findById(id))) throw new NotFoundError('User', id);
    this.security.warn({
      event: 'password.change_failed',
      userId: id,
      msg: 'password change refused: the password changed or the sessions ended while the current password was checked',
    });
    throw currentPasswordIncorrect();
  }

  /** Every access token issued so far fails at once, and `endSessions` ends the rest (one transaction). */
  async endAllSessions(id: string, endSessions: EndSessions): Promise<void> {
    await this.uow.run(async (tx) => {
      // a deleted user has no sessions left: its refresh tokens went with it
      if (await this.users.bumpTokenVersion(id, new Date(), tx)) await endSessions(tx);
    });
    await this.cache.invalidate(userCacheKey(id));
  }

  /**
   * `check` (a password check: the user when the password is right, else null) holding one of the
   * email's failure slots. A wrong password keeps it; a right one gives it back, and so does a
   * check that failed (the database is down: nothing was checked, not the caller's failure).
   */
  private async counted(email: string, check: () => Promise<User | null>): Promise<User | null> {
    const attempt = await this.failures.begin(email);
    let user: User | null;
    try {
      user = await check();
    } catch (error) {
      await attempt.release();
      throw error;
    }
    if (user) await attempt.release();
    return user;
  }
}
