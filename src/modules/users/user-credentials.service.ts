import { Injectable, Logger } from '@nestjs/common';
import { canonicalEmail } from '../../core/auth/canonical-email';
import { CacheAside } from '../../core/cache/cache-aside.service';
import { Tx, UnitOfWork } from '../../core/database/unit-of-work';
import { NotFoundError, UnauthorizedError } from '../../core/errors/app-error';
import { LoginFailureLimiter } from '../../core/throttling/login-failure.limiter';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { toUserRecord, UserRecord } from './dto/user.response';
import { PasswordHasher } from './password-hasher';
import { userCacheKey } from './user-cache';
import { User } from './user.entity';
import { UsersRepository } from './users.repository';

/** The caller's part of ending a user's sessions (the auth module's: revoking the refresh tokens), run in the given transaction. */
export type EndSessions = (tx: Tx) => Promise<void>;

/**
 * Ended sessions listed on the user row at most; ending one more while that many are listed
 * bumps the token version instead (every access token of the user fails; clients refresh). A
 * session is listed only while its access tokens may be unexpired (`JWT_ACCESS_TTL`), so real
 * users never come near it; it bounds the user row and the cached user for anyone scripting it.
 */
export const MAX_ENDED_SESSIONS = 50;
const ENDED_SESSION_MARGIN_MS = 60_000;

/** What a password reset or an email verification changed about the email. */
export interface EmailProof {
  /** The email was unverified and is now verified. */
  newlyVerified: boolean;
}

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
    @InjectConfig() private readonly config: AppConfig,
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
   * Re-authentication for a sensitive change of the user's own account (their email): the
   * password must be right, counted against the email's failures as a login is; else 401
   * `UNAUTHORIZED` with `details.currentPassword` (429 once the failures are used up).
   */
  async confirmPassword(id: string, password: string): Promise<void> {
    const user = await this.users.findById(id);
    if (!user) throw new NotFoundError('User', id);
    const confirmed = await this.counted(user.email, async () => ((await this.hasher.verify(user.passwordHash, password)) ? user : null));
    if (!confirmed) {
      this.security.warn({ event: 'password.confirm_failed', userId: id, msg: 'sensitive change refused: wrong current password' });
      throw currentPasswordIncorrect();
    }
  }

  /**
   * The access tokens of these sessions fail at once, and `endSessions` ends the rest (one
   * transaction, the user row locked first). The sessions are listed on the user row until their
   * last access token has expired (`JWT_ACCESS_TTL` from now), so the access check reads them with
   * the user; past `MAX_ENDED_SESSIONS` the token version moves instead. False: no such user.
   */
  async endSessions(id: string, sessionIds: readonly string[], endSessions: EndSessions): Promise<boolean> {
    const ended = await this.uow.run(async (tx) => {
      const user = await this.users.lockInTx(tx, id, this.uow.supportsRowLocks);
      if (!user) return false;
      if (sessionIds.length > 0) {
        const now = Date.now();
        // a minute past the last access token's expiry: clock skew between instances, a token signed just after
        const until = now + this.config.jwt.accessTtl * 1000 + ENDED_SESSION_MARGIN_MS;
        const listed = user.endedSessions.filter((session) => session.until > now && !sessionIds.includes(session.id));
        const next = [...listed, ...sessionIds.map((sessionId) => ({ id: sessionId, until }))];
        const patch: Partial<User> =
          next.length > MAX_ENDED_SESSIONS ? { endedSessions: [], tokenVersion: user.tokenVersion + 1 } : { endedSessions: next };
        await this.users.updateInTx(tx, id, patch);
      }
      await endSessions(tx);
      return true;
    });
    await this.cache.invalidate(userCacheKey(id));
    return ended;
  }

  /**
   * A password reset (the reset token already checked by the caller): the new hash, the token
   * version bumped (every access token fails), and the email verified (the link proved it);
   * `endSessions` ends the rest, in the same transaction. False: no such user, or the link went to
   * an address the user no longer has.
   */
  async resetPassword(
    id: string,
    passwordHash: string,
    sentTo: string,
    endSessions: (tx: Tx, proof: EmailProof) => Promise<void>,
  ): Promise<boolean> {
    const reset = await this.uow.run(async (tx) => {
      const user = await this.users.lockInTx(tx, id, this.uow.supportsRowLocks);
      // a link mailed to an address the account no longer has resets nothing
      if (!user || user.email !== sentTo) return false;
      const at = new Date();
      const newlyVerified = user.emailVerifiedAt === null;
      await this.users.updateInTx(tx, id, {
        passwordHash,
        tokenVersion: user.tokenVersion + 1,
        endedSessions: [],
        updatedAt: at,
        ...(newlyVerified ? { emailVerifiedAt: at } : {}),
      });
      await endSessions(tx, { newlyVerified });
      return true;
    });
    await this.cache.invalidate(userCacheKey(id));
    return reset;
  }

  /**
   * Marks the email verified if `sentTo` is still the user's email (a link to an address the user
   * has since changed proves nothing): false otherwise, or when there is no such user. Verifying
   * an email already verified changes nothing. `record` runs in the transaction (the caller's
   * token use and events).
   */
  async verifyEmail(id: string, sentTo: string, record: (tx: Tx, proof: EmailProof) => Promise<void>): Promise<boolean> {
    const verified = await this.uow.run(async (tx) => {
      const user = await this.users.lockInTx(tx, id, this.uow.supportsRowLocks);
      if (!user || user.email !== sentTo) return false;
      const newlyVerified = user.emailVerifiedAt === null;
      if (newlyVerified) {
        const at = new Date();
        await this.users.updateInTx(tx, id, { emailVerifiedAt: at, updatedAt: at });
      }
      await record(tx, { newlyVerified });
      return true;
    });
    if (verified) await this.cache.invalidate(userCacheKey(id));
    return verified;
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
