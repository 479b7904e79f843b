import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { KeyRing } from '../crypto/key-ring';
import { EmailSlots } from './email-slots';
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
 * The email is keyed as `EmailSlots` keys it: canonical, through a keyed hash (its key derived
 * from APP_SECRET), so rate-limit keys in Redis never carry an address.
 */
@Injectable()
export class LoginFailureLimiter {
  private readonly slots: EmailSlots;

  constructor(storage: RateLimitStorage, keys: KeyRing, @InjectConfig() config: AppConfig) {
    this.slots = new EmailSlots(storage, keys.key('rate-limit:login-email'), config.rateLimit);
  }

  /** Takes a failure slot for this email, or 429 `RATE_LIMITED` when the window's failures are used up. */
  async begin(email: string): Promise<LoginAttempt> {
    const reservation = await this.slots.take('login-failures', email);
    return reservation ? { release: reservation.release } : NOT_COUNTED;
  }
}
