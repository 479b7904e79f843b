import { AppError, ConflictError, ErrorDetails } from '../../core/errors/app-error';

abstract class UnprocessableError extends AppError {
  readonly status = 422;
}

export class InsufficientFundsError extends UnprocessableError {
  readonly code = 'INSUFFICIENT_FUNDS';
  constructor(accountId: string) {
    super('The source account has too little money for this transfer', { accountId });
  }
}

export class CurrencyMismatchError extends UnprocessableError {
  readonly code = 'CURRENCY_MISMATCH';
  constructor(from: string, to: string) {
    super(`Cannot move ${from} into a ${to} account`, { fromCurrency: from, toCurrency: to });
  }
}

export class BalanceLimitError extends UnprocessableError {
  readonly code = 'BALANCE_LIMIT';
  constructor(accountId: string) {
    super('The balance would exceed 2^53 - 1 minor units', { accountId });
  }
}

export class IdempotencyKeyMismatchError extends UnprocessableError {
  readonly code = 'IDEMPOTENCY_KEY_MISMATCH';
  constructor() {
    super('This Idempotency-Key was used with a different request');
  }
}

/**
 * This request's claim on its Idempotency-Key was taken over by a retry (the claim outlived its
 * lease): whatever this request did was rolled back or not stored. The retry's outcome is the
 * key's answer, which a further retry with the same key gets.
 */
export class IdempotencyClaimLostError extends ConflictError {
  constructor() {
    super('A retry with this Idempotency-Key took this request over; retry with the same key to get its answer');
  }
}

/** An answer stored under an Idempotency-Key, given again. */
export class ReplayedError extends AppError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    details?: ErrorDetails,
  ) {
    super(message, details);
  }

  override get headers(): Record<string, string> {
    return { 'Idempotent-Replayed': 'true' };
  }
}
