import { createHmac } from 'node:crypto';
import { canonicalEmail } from '../auth/canonical-email';

/**
 * The rate-limit key of an email: its canonical form (so spellings of one address share a
 * limit) through a keyed hash, so that no address appears in Redis and a copy of the keys cannot
 * be matched against a list of addresses without the secret (`hashKey`, from the KeyRing).
 */
export function emailRateKey(prefix: string, hashKey: Buffer, email: string): string {
  return `${prefix}:${createHmac('sha256', hashKey).update(canonicalEmail(email)).digest('hex')}`;
}
