import { describeDriverError, isDriverError } from '../errors/driver-errors';

/** Back-off after a failed attempt: this after the first, doubling, up to MAX_RETRY_DELAY_MS. */
export const FIRST_RETRY_DELAY_MS = 1_000;
export const MAX_RETRY_DELAY_MS = 5 * 60 * 1000;
/** A job still failing this long after it was queued is given up (outcome `failed`): its link would be long stale. */
export const GIVE_UP_AFTER_MS = 24 * 60 * 60 * 1000;
const MAX_ERROR_LENGTH = 500;

/** How long to wait after the `attempts`-th failed attempt (1-based). */
export function retryDelayMs(attempts: number): number {
  return Math.min(FIRST_RETRY_DELAY_MS * 2 ** Math.max(0, attempts - 1), MAX_RETRY_DELAY_MS);
}

/**
 * The `last_error` of a failed attempt: short, and safe to store and log. Transports already
 * strip their credentials; a database error (a composer's) is reduced to its codes, since its
 * message carries SQL and values (a token's hash, say).
 */
export function describeFailure(error: unknown): string {
  let text: string;
  if (isDriverError(error)) {
    const { type, code, errno } = describeDriverError(error);
    text = ['database error', type, code ?? errno].filter((part) => typeof part === 'string' || typeof part === 'number').join(' ');
  } else if (error instanceof Error) {
    text = error.message || error.name;
  } else {
    text = String(error);
  }
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;
}
