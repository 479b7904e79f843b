import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { canonicalEmail } from '../../core/auth/canonical-email';
import { Tx, UnitOfWork } from '../../core/database/unit-of-work';
import { Outbox } from '../../core/outbox/outbox';
import { uuidv7 } from '../../core/database/uuid';
import { UnauthorizedError } from '../../core/errors/app-error';
import { UserCredentialsService, UserRecord, UsersService } from '../users';
import { AuthEvents, LoginFailedData, SessionEndedData } from './auth.events';
import { TokenPairResponse } from './dto/token-pair.response';
import { RefreshToken } from './refresh-token.entity';
import { OneTimeTokensRepository } from './one-time-tokens.repository';
import { RefreshTokensRepository } from './refresh-tokens.repository';
import { Session } from './session.entity';
import { SessionsRepository } from './sessions.repository';
import { TokenService } from './token.service';

const BAD_CREDENTIALS = 'The email or password is incorrect';
const MAX_USER_AGENT = 255;

/** Who is logging in, as the session list shows it. */
export interface ClientInfo {
  userAgent: string | null;
  /** As the rate limiter groups it (`ipGroup`). */
  ip: string | null;
}
const BAD_REFRESH = 'The refresh token is invalid, expired or revoked';

/**
 * Sessions: login issues a token pair that starts a refresh family; refresh rotates it; a used
 * or revoked refresh token presented again is theft and ends the whole family (RFC 9700 §4.14).
 */
@Injectable()
export class AuthService {
  private readonly security = new Logger('Security');

  constructor(
    private readonly users: UsersService,
    private readonly credentials: UserCredentialsService,
    private readonly tokens: TokenService,
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly sessions: SessionsRepository,
    private readonly oneTimeTokens: OneTimeTokensRepository,
    private readonly uow: UnitOfWork,
    private readonly outbox: Outbox,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  register(input: { email: string; password: string; name: string }): Promise<UserRecord> {
    return this.users.create({ ...input, roles: ['user'] }, 'registered');
  }

  /**
   * The password check counts against the email's failures (`UserCredentialsService.verify`).
   * The session starts only if the sessions were not ended while the password was being checked
   * (argon2 takes a while): the refresh token is stored only while the user's token version is the
   * one the password was checked against. Otherwise a login with the old password that overlapped
   * a password change would keep a refresh token the change never saw. That is the same 401: the
   * password checked is no longer the password, or its sessions were ended.
   */
  async login(email: string, password: string, client: ClientInfo = { userAgent: null, ip: null }): Promise<TokenPairResponse> {
    const user = await this.credentials.verify(email, password);
    if (!user) {
      this.security.warn({ event: 'login.failed', msg: 'login failed' });
      // an event of its own: nothing else changed (the email's failure count lives in the limiter)
      const canonical = canonicalEmail(email);
      await this.outbox.publish<LoginFailedData>({
        type: AuthEvents.loginFailed,
        subjectType: 'user',
        subjectId: await this.users.findIdByEmail(canonical),
        data: { email: canonical },
      });
      throw new UnauthorizedError(BAD_CREDENTIALS);
    }
    const now = new Date();
    const familyExpiresAt = new Date(now.getTime() + this.config.jwt.refreshAbsoluteTtl * 1000);
    const session: Session = {
      id: uuidv7(),
      userId: user.id,
      userAgent: cleanUserAgent(client.userAgent),
      ip: client.ip,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: familyExpiresAt,
      endedAt: null,
    };
    const token = this.newRefreshToken(user.id, session.id, familyExpiresAt, now);
    const started = await this.uow.run(async (tx) => {
      if (!(await this.refreshTokens.createForTokenVersion(token.row, user.tokenVersion, tx))) return false;
      await this.sessions.createInTx(tx, session);
      await tx.publish({ type: AuthEvents.loginSucceeded, subjectType: 'user', subjectId: user.id });
      return true;
    });
    if (!started) {
      this.security.warn({
        event: 'login.failed',
        userId: user.id,
        msg: 'login failed: the sessions ended while the password was checked',
      });
      throw new UnauthorizedError(BAD_CREDENTIALS);
    }
    this.security.log({ event: 'login.succeeded', userId: user.id, msg: 'login succeeded' });
    return this.pair(user, session.id, token.jwt, token.row.expiresAt);
  }

  async refresh(presented: string): Promise<TokenPairResponse> {
    const claims = this.tokens.verifyRefresh(presented);
    const row = await this.refreshTokens.findById(claims.jti);
    if (!row || row.tokenHash !== TokenService.hash(presented) || row.userId !== claims.sub) {
      throw new UnauthorizedError(BAD_REFRESH);
    }
    // a rotated token presented again is theft; one of a session that has ended already (revoked)
    // is a client that has not heard yet: refused, nothing more to end or record
    if (row.status === 'used') await this.reuseDetected(row);
    if (row.status !== 'active') throw new UnauthorizedError(BAD_REFRESH);
    const user = await this.users.findCached(row.userId);
    if (!user) throw new UnauthorizedError(BAD_REFRESH);

    const now = new Date();
    const next = this.newRefreshToken(user.id, row.familyId, row.familyExpiresAt, now);
    const rotated = await this.uow.run(async (tx) => {
      if (!(await this.refreshTokens.rotate(tx, row.id, next.row))) return false;
      await this.sessions.touchInTx(tx, row.familyId, now);
      return true;
    });
    if (!rotated) {
      // another request rotated it first (the same token was presented twice), or a revoke-all ended it meanwhile
      await this.reuseDetected(row);
      throw new UnauthorizedError(BAD_REFRESH);
    }
    return this.pair(user, row.familyId, next.jwt, next.row.expiresAt);
  }

  /**
   * Ends the presented refresh token's session: its refresh family, and its access tokens at once
   * (`UserCredentialsService.endSessions`). The caller's other sessions go on.
   */
  async logout(userId: string, presented: string): Promise<void> {
    const claims = this.tokens.verifyRefresh(presented);
    if (claims.sub !== userId) throw new UnauthorizedError(BAD_REFRESH);
    await this.endSessions(userId, [claims.fam], async (tx) => {
      await tx.publish({ type: AuthEvents.logout, subjectType: 'user', subjectId: userId });
    });
  }

  /**
   * Ends these sessions of the user, in one transaction: their refresh families are revoked, they
   * are marked ended, their access tokens fail at once, and each gets an `auth.session_ended`.
   * `alsoInTx` adds the caller's own part (an event).
   */
  async endSessions(userId: string, sessionIds: readonly string[], alsoInTx?: (tx: Tx) => Promise<void>): Promise<void> {
    const now = new Date();
    await this.credentials.endSessions(userId, sessionIds, async (tx) => {
      await this.refreshTokens.revokeFamiliesInTx(tx, sessionIds);
      await this.sessions.endInTx(tx, userId, sessionIds, now);
      for (const sessionId of sessionIds) {
        await tx.publish<SessionEndedData>({ type: AuthEvents.sessionEnded, subjectType: 'user', subjectId: userId, data: { sessionId } });
      }
      await alsoInTx?.(tx);
    });
  }

  /** The version bump and the revocation in one transaction, so no login or refresh slips between them. */
  async logoutAll(userId: string): Promise<void> {
    await this.credentials.endAllSessions(userId, async (tx) => {
      await this.endAllSessionsInTx(tx, userId);
      await tx.publish({ type: AuthEvents.logoutAll, subjectType: 'user', subjectId: userId });
    });
    this.security.log({ event: 'logout.all', userId, msg: 'all sessions ended' });
  }

  /**
   * The refresh tokens end in the transaction that changes the password: no refresh slips between.
   * A wrong current password counts against the email's failures, as a failed login does.
   */
  async changePassword(userId: string, currentPassword: string, newPassword: string): Promise<void> {
    // the callback runs only once the new password is stored, in that transaction
    await this.credentials.changePassword(userId, currentPassword, newPassword, async (tx) => {
      await this.endAllSessionsInTx(tx, userId);
      await tx.publish({ type: AuthEvents.passwordChanged, subjectType: 'user', subjectId: userId });
    });
    this.security.log({ event: 'password.changed', userId, msg: 'password changed; all sessions ended' });
  }

  /**
   * Every refresh token revoked and every session marked ended, in `tx`: the part of ending all
   * sessions that is auth's, inside a transaction that bumps the user's token version (which ends
   * the access tokens).
   */
  async endAllSessionsInTx(tx: Tx, userId: string): Promise<void> {
    const now = new Date();
    await this.refreshTokens.revokeAllForUserInTx(tx, userId);
    await this.sessions.endAllInTx(tx, userId, now);
    // a reset link mailed before (to a mailbox that may be what was compromised) no longer works
    await this.oneTimeTokens.voidAllInTx(tx, userId, 'password_reset', now);
  }

  /** Expired refresh tokens and one-time tokens, sessions past their end or ended. */
  async purgeExpired(): Promise<number> {
    const now = new Date();
    return (await this.refreshTokens.purgeExpired(now)) + (await this.sessions.purge(now)) + (await this.oneTimeTokens.purgeExpired(now));
  }

  /** A stolen refresh token came back: its whole session ends, access tokens included. */
  private async reuseDetected(row: RefreshToken): Promise<void> {
    await this.endSessions(row.userId, [row.familyId], async (tx) => {
      await tx.publish({ type: AuthEvents.refreshReuseDetected, subjectType: 'user', subjectId: row.userId });
    });
    this.security.warn({
      event: 'refresh.reuse_detected',
      userId: row.userId,
      familyId: row.familyId,
      msg: 'refresh token reuse detected: family revoked',
    });
  }

  private newRefreshToken(userId: string, familyId: string, familyExpiresAt: Date, now: Date) {
    const id = uuidv7();
    const expiresAt = new Date(Math.min(now.getTime() + this.config.jwt.refreshTtl * 1000, familyExpiresAt.getTime()));
    const jwt = this.tokens.signRefresh(userId, id, familyId, expiresAt);
    const row: RefreshToken = {
      id,
      familyId,
      userId,
      tokenHash: TokenService.hash(jwt),
      status: 'active',
      replacedBy: null,
      expiresAt,
      familyExpiresAt,
      createdAt: now,
    };
    return { jwt, row };
  }

  private pair(user: UserRecord, sessionId: string, refreshToken: string, refreshExpiresAt: Date): TokenPairResponse {
    return {
      accessToken: this.tokens.signAccess(user.id, user.tokenVersion, sessionId),
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: this.config.jwt.accessTtl,
      refreshExpiresIn: Math.max(0, Math.round((refreshExpiresAt.getTime() - Date.now()) / 1000)),
    };
  }
}

/** Control characters (C0, DEL, C1) and bidirectional overrides: a session list must show what the text says. */
const UNSHOWABLE = /[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/** The User-Agent header as the session list shows it: control and bidi characters out, at most 255 characters, null when empty. */
export function cleanUserAgent(value: string | null | undefined): string | null {
  const cleaned = (value ?? '').replace(UNSHOWABLE, '').trim().slice(0, MAX_USER_AGENT);
  return cleaned === '' ? null : cleaned;
}
