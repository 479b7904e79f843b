import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { KeyRing } from '../crypto/key-ring';
import { RateLimitedError } from '../errors/app-error';
import { emailRateKey } from './email-key';
import { RateLimitStorage } from './rate-limit.storage';

/** A password check's hold on one of its email's failure slots. */
export interface LoginAttempt {
  /** The password was right (or never checked): the check is not a failure. */
  release(): Promise<void>;
}

const NOT_COUNTED: LoginAttempt = { release: () => Promise.resolve() };

/**
 * At most `AUTH_RATE_LIMIT` failed password checks per email per `RATE_LIMIT_WINDOW` (sliding),
 * however they are spread over IPs and instances: credential stuffing against one account. Failed
 * logins and wrong current passwords of a password change (keyed by the account's email) share
 * the budget, so a session is no way around it. Only failures count, so nobody can lock a user out
 * by logging in as them. Every check takes a slot before its password is checked and gives it back
 * when the password was right: N concurrent guesses cannot all slip past a check that comes before
 * the count.
 *
 * The email is keyed in its canonical form (so spellings of one address share the limit) and
 * through a keyed hash (its key derived from APP_SECRET): rate-limit keys in Redis never carry an
 * address, and a copy of them cannot be matched against a list of addresses without the secret.
 */
@Injectable()
export class LoginFailureLimiter {
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly hashKey: Buffer;

  constructor(
    private readonly storage: RateLimitStorage,
    keys: KeyRing,
    @InjectConfig() config: AppConfig,
  ) {
    this.limit = config.rateLimit.authLimit;
    this.windowMs = config.rateLimit.windowSeconds * 1000;
    this.hashKey = keys.key('rate-limit:login-email');
  }

  /** Takes a failure slot for this email, or 429 `RATE_LIMITED` when the window's failures are used up. */
  async begin(email: string): Promise<LoginAttempt> {
    if (this.limit === 0) return NOT_COUNTED;
    const key = emailRateKey('login-failures', this.hashKey, email);
    const reservation = await this.storage.reserveSlot(key, this.windowMs, this.limit);
    if (!reservation.granted) throw new RateLimitedError(reservation.retryAfterSeconds);
    return { release: reservation.release };
  }
}
