import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { KeyRing } from '../crypto/key-ring';
import { EmailSlots } from './email-slots';
import { RateLimitStorage } from './rate-limit.storage';

/**
 * At most `AUTH_RATE_LIMIT` requests per email per `RATE_LIMIT_WINDOW` (sliding) for a purpose
 * that mails that address (a password-reset link, a verification link), however they are spread
 * over IPs and instances: nobody can flood a mailbox through us. Every request counts, whether or
 * not an account has the address, so the 429 says nothing about accounts either. The address is
 * keyed as `EmailSlots` keys it: canonical, through a keyed hash, no address in Redis.
 */
@Injectable()
export class EmailRequestLimiter {
  private readonly slots: EmailSlots;

  constructor(storage: RateLimitStorage, keys: KeyRing, @InjectConfig() config: AppConfig) {
    this.slots = new EmailSlots(storage, keys.key('rate-limit:email-requests'), config.rateLimit);
  }

  /** Counts one request of `purpose` for this email, or 429 `RATE_LIMITED` once the window's are used up. */
  async count(purpose: string, email: string): Promise<void> {
    await this.slots.take(`email-requests:${purpose}`, email);
  }
}
