import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { KeyRing } from '../crypto/key-ring';
import { RateLimitedError } from '../errors/app-error';
import { emailRateKey } from './email-key';
import { RateLimitStorage } from './rate-limit.storage';

/**
 * At most `AUTH_RATE_LIMIT` requests per email per `RATE_LIMIT_WINDOW` (sliding) for a purpose
 * that mails that address (a password-reset link, a verification link), however they are spread
 * over IPs and instances: nobody can flood a mailbox through us. Every request counts, whether or
 * not an account has the address, so the 429 says nothing about accounts either. The address is
 * keyed in canonical form through a keyed hash, as `LoginFailureLimiter` keys it: no address in Redis.
 */
@Injectable()
export class EmailRequestLimiter {
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
    this.hashKey = keys.key('rate-limit:email-requests');
  }

  /** Counts one request of `purpose` for this email, or 429 `RATE_LIMITED` once the window's are used up. */
  async count(purpose: string, email: string): Promise<void> {
    if (this.limit === 0) return;
    const key = emailRateKey(`email-requests:${purpose}`, this.hashKey, email);
    const reservation = await this.storage.reserveSlot(key, this.windowMs, this.limit);
    if (!reservation.granted) throw new RateLimitedError(reservation.retryAfterSeconds);
  }
}
