import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { canonicalEmail } from '../../core/auth/canonical-email';
import { UnitOfWork } from '../../core/database/unit-of-work';
import { Outbox } from '../../core/outbox/outbox';
import { uuidv7 } from '../../core/database/uuid';
import { UnauthorizedError } from '../../core/errors/app-error';
import { UserCredentialsService, UserRecord, UsersService } from '../users';
import { AuthEvents, LoginFailedData } from './auth.events';
import { TokenPairResponse } from './dto/token-pair.response';
import { RefreshToken } from './refresh-token.entity';
import { RefreshTokensRepository } from './refresh-tokens.repository';
import { TokenService } from './token.service';

const BAD_CREDENTIALS = 'The email or password is incorrect';
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
  async login(email: string, password: string): Promise<TokenPairResponse> {
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
    const token = this.newRefreshToken(user.id, uuidv7(), familyExpiresAt, now);
    const started = await this.uow.run(async (tx) => {
      if (!(await this.refreshTokens.createForTokenVersion(token.row, user.tokenVersion, tx))) return false;
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
    return this.pair(user, token.jwt, token.row.expiresAt);
  }

  async refresh(presented: string): Promise<TokenPairResponse> {
    const claims = this.tokens.verifyRefresh(presented);
    const row = await this.refreshTokens.findById(claims.jti);
    if (!row || row.tokenHash !== TokenService.hash(presented) || row.userId !== claims.sub) {
      throw new UnauthorizedError(BAD_REFRESH);
    }
    if (row.status !== 'active') {
      await this.reuseDetected(row);
      throw new UnauthorizedError(BAD_REFRESH);
    }
    const user = await this.users.findCached(row.userId);
    if (!user) throw new UnauthorizedError(BAD_REFRESH);

    const next = this.newRefreshToken(user.id, row.familyId, row.familyExpiresAt, new Date());
    if (!(await this.uow.run((tx) => this.refreshTokens.rotate(tx, row.id, next.row)))) {
      // another request rotated it first (the same token was presented twice), or a revoke-all ended it meanwhile
      await this.reuseDetected(row);
      throw new UnauthorizedError(BAD_REFRESH);
    }
    return this.pair(user, next.jwt, next.row.expiresAt);
  }

  /** Ends the presented token's family; the caller's other sessions go on. */
  async logout(userId: string, presented: string): Promise<void> {
    const claims = this.tokens.verifyRefresh(presented);
    if (claims.sub !== userId) throw new UnauthorizedError(BAD_REFRESH);
    await this.uow.run(async (tx) => {
      await this.refreshTokens.revokeFamily(claims.fam, tx);
      await tx.publish({ type: AuthEvents.logout, subjectType: 'user', subjectId: userId });
    });
  }

  /** The version bump and the revocation in one transaction, so no login or refresh slips between them. */
  async logoutAll(userId: string): Promise<void> {
    await this.credentials.endAllSessions(userId, async (tx) => {
      await this.refreshTokens.revokeAllForUserInTx(tx, userId);
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
      await this.refreshTokens.revokeAllForUserInTx(tx, userId);
      await tx.publish({ type: AuthEvents.passwordChanged, subjectType: 'user', subjectId: userId });
    });
    this.security.log({ event: 'password.changed', userId, msg: 'password changed; all sessions ended' });
  }

  purgeExpired(): Promise<number> {
    return this.refreshTokens.purgeExpired(new Date());
  }

  private async reuseDetected(row: RefreshToken): Promise<void> {
    await this.uow.run(async (tx) => {
      await this.refreshTokens.revokeFamily(row.familyId, tx);
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

  private pair(user: UserRecord, refreshToken: string, refreshExpiresAt: Date): TokenPairResponse {
    return {
      accessToken: this.tokens.signAccess(user.id, user.tokenVersion),
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: this.config.jwt.accessTtl,
      refreshExpiresIn: Math.max(0, Math.round((refreshExpiresAt.getTime() - Date.now()) / 1000)),
    };
  }
}
