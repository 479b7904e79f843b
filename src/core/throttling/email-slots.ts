import { createHmac } from 'node:crypto';
import { AppConfig } from '../../config/app-config';
import { canonicalEmail } from '../auth/canonical-email';
import { RateLimitedError } from '../errors/app-error';
import { RateLimitStorage, SlotReservation } from './rate-limit.storage';

/**
 * `AUTH_RATE_LIMIT` slots per email per `RATE_LIMIT_WINDOW` (sliding), however the requests are
 * spread over IPs and instances: what the email-keyed limiters share. The address is keyed in its
 * canonical form (so spellings of one address share a limit) through a keyed hash (`hashKey`,
 * from the KeyRing): no address appears in Redis, and a copy of the keys cannot be matched against
 * a list of addresses without the secret.
 */
export class EmailSlots {
  private readonly limit: number;
  private readonly windowMs: number;

  constructor(
    private readonly storage: RateLimitStorage,
    private readonly hashKey: Buffer,
    { authLimit, windowSeconds }: AppConfig['rateLimit'],
  ) {
    this.limit = authLimit;
    this.windowMs = windowSeconds * 1000;
  }

  /** Takes a slot of `scope` for this email; null when the limit is off (0); 429 `RATE_LIMITED` once the window's are used up. */
  async take(scope: string, email: string): Promise<Extract<SlotReservation, { granted: true }> | null> {
    if (this.limit === 0) return null;
    const key = `${scope}:${createHmac('sha256', this.hashKey).update(canonicalEmail(email)).digest('hex')}`;
    const reservation = await this.storage.reserveSlot(key, this.windowMs, this.limit);
    if (!reservation.granted) throw new RateLimitedError(reservation.retryAfterSeconds);
    return reservation;
  }
}
