import { Injectable, Logger } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { canonicalEmail } from '../../core/auth/canonical-email';
import { Tx, UnitOfWork } from '../../core/database/unit-of-work';
import { uuidv7 } from '../../core/database/uuid';
import { MailComposers } from '../../core/mail/mail-composers';
import { MailQueue } from '../../core/mail/mail-queue';
import { MailJob, MailMessage } from '../../core/mail/mail.types';
import { EmailRequestLimiter } from '../../core/throttling/email-request.limiter';
import { PasswordHasher, UserCredentialsService, UserMails, UsersService } from '../users';
import { TokenInvalidError } from './auth.errors';
import { AuthEvents } from './auth.events';
import { AuthMails, emailVerificationMail, passwordResetMail } from './auth.mails';
import { AuthService } from './auth.service';
import { OneTimeToken, OneTimeTokenPurpose } from './one-time-token.entity';
import { OneTimeTokensRepository } from './one-time-tokens.repository';

/** 256 random bits, base64url: the token in a link. Only its SHA-256 is stored. */
const TOKEN_BYTES = 32;

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/** At most one password-reset mail per account in this long (while its link is unused). */
export const RESET_MAIL_COOLDOWN_MS = 60_000;

/**
 * Password reset and email verification, by mail. A request only queues a mail (core/mail, in
 * its transaction); the mail relay composes it later, outside the request: that is when the
 * one-time token is made (its hash stored, older tokens of the same purpose voided) and put in the
 * link, so no token is ever stored in the clear, and a mail that fails is retried with a new token.
 *
 * `forgot` does the same work whether or not the address is an account's: it counts the request
 * against the address's limit and queues one row. Only the composer, in the relay, looks the
 * account up, and drops the mail when there is none: the answer and its timing cannot tell.
 */
@Injectable()
export class AccountLifecycleService {
  private readonly security = new Logger('Security');

  constructor(
    private readonly users: UsersService,
    private readonly credentials: UserCredentialsService,
    private readonly hasher: PasswordHasher,
    private readonly auth: AuthService,
    private readonly tokens: OneTimeTokensRepository,
    private readonly mail: MailQueue,
    private readonly limiter: EmailRequestLimiter,
    private readonly uow: UnitOfWork,
    @InjectConfig() private readonly config: AppConfig,
    composers: MailComposers,
  ) {
    composers.register(AuthMails.passwordReset, (job, tx) => this.composePasswordReset(job, tx));
    composers.register(UserMails.emailVerification, (job, tx) => this.composeEmailVerification(job, tx));
  }

  /** Queues a reset mail for `email` (sent only if it is an account's); the same 202 either way. */
  async forgotPassword(email: string): Promise<void> {
    const canonical = canonicalEmail(email);
    await this.limiter.count('password-reset', canonical);
    await this.uow.run((tx) => this.mail.enqueue(tx, { kind: AuthMails.passwordReset, to: canonical, userId: null }));
  }

  /**
   * Sets the password with a reset token: the token is checked (400 `TOKEN_INVALID`) before
   * argon2 runs, then used in the transaction that stores the hash, bumps the token version, ends
   * every session and verifies the email the link went to, so two uses of one token give one reset.
   */
  async resetPassword(token: string, newPassword: string): Promise<void> {
    const found = await this.usable(token, 'password_reset');
    const passwordHash = await this.hasher.hash(newPassword);
    const reset = await this.credentials.resetPassword(found.userId, passwordHash, found.email, async (tx, proof) => {
      await this.use(tx, found);
      await this.auth.endAllSessionsInTx(tx, found.userId);
      await tx.publish({ type: AuthEvents.passwordReset, subjectType: 'user', subjectId: found.userId });
      if (proof.newlyVerified) await tx.publish({ type: AuthEvents.emailVerified, subjectType: 'user', subjectId: found.userId });
    });
    if (!reset) throw new TokenInvalidError(); // the account was deleted since
    this.security.log({ event: 'password.reset', userId: found.userId, msg: 'password reset by mail; all sessions ended' });
  }

  /** Marks the email the token was sent to verified, if it is still the account's (else 400 `TOKEN_INVALID`). */
  async verifyEmail(token: string): Promise<void> {
    const found = await this.usable(token, 'email_verify');
    const verified = await this.credentials.verifyEmail(found.userId, found.email, async (tx, proof) => {
      await this.use(tx, found);
      if (proof.newlyVerified) await tx.publish({ type: AuthEvents.emailVerified, subjectType: 'user', subjectId: found.userId });
    });
    if (!verified) throw new TokenInvalidError();
  }

  /** Queues a new verification mail to the caller's email (none is sent once it is verified); the previous link stops working when it goes out. */
  async resendVerification(userId: string): Promise<void> {
    const user = await this.users.findById(userId);
    await this.limiter.count('email-verification', user.email);
    await this.uow.run((tx) => this.mail.enqueue(tx, { kind: UserMails.emailVerification, to: user.email, userId }));
  }

  private async composePasswordReset(job: MailJob, tx: Tx): Promise<MailMessage | null> {
    const userId = await this.users.findIdByEmail(job.to, tx);
    if (!userId) return null; // not an account: nothing is sent, and nothing says so
    // a link went out moments ago and still works: no second mail, and that link is not voided
    // (someone asking for the victim's resets over and over neither floods the mailbox nor keeps
    // killing the link the owner is about to follow); a retry of this job's own send is not a second mail
    const now = new Date();
    if (
      job.attempt === 1 &&
      (await this.tokens.hasRecent(tx, userId, 'password_reset', new Date(now.getTime() - RESET_MAIL_COOLDOWN_MS), now))
    ) {
      return null;
    }
    const ttl = this.config.lifecycle.passwordResetTtl;
    const token = await this.mint(tx, userId, 'password_reset', job.to, ttl);
    // one event per request: a retried send composes again (a new token), but was requested once
    if (job.attempt === 1) {
      await tx.publish({
        type: AuthEvents.passwordResetRequested,
        subjectType: 'user',
        subjectId: userId,
        actorId: job.actorId,
        requestId: job.requestId,
      });
    }
    return passwordResetMail(job.to, this.link('reset-password', token), ttl);
  }

  private async composeEmailVerification(job: MailJob, tx: Tx): Promise<MailMessage | null> {
    const user = job.userId ? await this.users.findInTx(tx, job.userId) : null;
    // deleted, changed its email again since (that change queued its own mail), or verified already
    if (!user || user.email !== job.to || user.emailVerifiedAt !== null) return null;
    const ttl = this.config.lifecycle.emailVerifyTtl;
    const token = await this.mint(tx, user.id, 'email_verify', job.to, ttl);
    return emailVerificationMail(job.to, this.link('verify-email', token), ttl);
  }

  private async mint(tx: Tx, userId: string, purpose: OneTimeTokenPurpose, email: string, ttlSeconds: number): Promise<string> {
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    const now = new Date();
    await this.tokens.mintInTx(tx, {
      id: uuidv7(),
      userId,
      purpose,
      tokenHash: hashOf(token),
      email,
      createdAt: now,
      expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
      usedAt: null,
      voidedAt: null,
    });
    return token;
  }

  private link(path: string, token: string): string {
    return `${this.config.mail.appUrl}/${path}?token=${token}`;
  }

  private async usable(token: string, purpose: OneTimeTokenPurpose): Promise<OneTimeToken> {
    const found = await this.tokens.findUsable(hashOf(token), purpose, new Date());
    if (!found) throw new TokenInvalidError();
    return found;
  }

  /** Uses the token in `tx`; a concurrent use that got there first makes this one 400 `TOKEN_INVALID` (and rolls it back). */
  private async use(tx: Tx, token: OneTimeToken): Promise<void> {
    if (!(await this.tokens.useInTx(tx, token.id, new Date()))) throw new TokenInvalidError();
  }
}
