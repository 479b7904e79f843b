import { AppError } from '../../core/errors/app-error';
import { ErrorCode } from '../../core/errors/error-codes';

/** A password-reset or email-verification token that is unknown, used, voided by a newer one, or expired: all alike. */
export class TokenInvalidError extends AppError {
  readonly code = ErrorCode.TOKEN_INVALID;
  readonly status = 400;

  constructor() {
    super('The link is invalid or has expired; ask for a new one', { token: ['token is invalid, used or expired'] });
  }
}
