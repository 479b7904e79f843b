import { ErrorCode } from './error-codes';

export type ErrorDetails = Record<string, unknown>;

/**
 * Base of every error the API answers with on purpose. Services throw these; the global
 * exception filter turns them into the error envelope. Modules derive their domain errors
 * (e.g. `InsufficientFundsError`) from `AppError` with their own code and status.
 */
export abstract class AppError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;

  constructor(
    message: string,
    readonly details?: ErrorDetails,
  ) {
    super(message);
    this.name = new.target.name;
  }

  /** Response headers that go with this error (e.g. `Retry-After`). */
  get headers(): Record<string, string> | undefined {
    return undefined;
  }
}

/** Field path (dotted) → messages, as the contract's `VALIDATION_ERROR` details. */
export type FieldErrors = Record<string, string[]>;

export class ValidationError extends AppError {
  readonly code = ErrorCode.VALIDATION_ERROR;
  readonly status = 400;

  constructor(fields: FieldErrors, message = 'The request is not valid') {
    super(message, fields);
  }
}

export class BadRequestError extends AppError {
  readonly code = ErrorCode.BAD_REQUEST;
  readonly status = 400;
}

export class UnauthorizedError extends AppError {
  readonly code = ErrorCode.UNAUTHORIZED;
  readonly status = 401;

  constructor(message = 'Authentication is required', details?: ErrorDetails) {
    super(message, details);
  }
}

export class ForbiddenError extends AppError {
  readonly code = ErrorCode.FORBIDDEN;
  readonly status = 403;

  constructor(message = 'You are not allowed to do this', details?: ErrorDetails) {
    super(message, details);
  }
}

/** The route moves money or opens accounts, `REQUIRE_VERIFIED_EMAIL` is on, and the caller's email is not verified. */
export class EmailNotVerifiedError extends AppError {
  readonly code = ErrorCode.EMAIL_NOT_VERIFIED;
  readonly status = 403;

  constructor() {
    super(
      'Verify your email address first: follow the link in the verification mail (POST /api/v1/auth/email/verify/resend sends a new one)',
    );
  }
}

export class NotFoundError extends AppError {
  readonly code = ErrorCode.NOT_FOUND;
  readonly status = 404;

  constructor(resource: string, id: string) {
    super(`${resource} ${id} was not found`, { resource, id });
  }
}

export class RouteNotFoundError extends AppError {
  readonly code = ErrorCode.NOT_FOUND;
  readonly status = 404;

  constructor(method: string, path: string) {
    super(`Route ${method} ${path} does not exist`, { method, path });
  }
}

/** The request did not arrive in full within HTTP_REQUEST_TIMEOUT (a slow or stalled client). */
export class RequestTimeoutError extends AppError {
  readonly code = ErrorCode.REQUEST_TIMEOUT;
  readonly status = 408;

  constructor() {
    super('The request was not received in time');
  }
}

export class ConflictError extends AppError {
  readonly code = ErrorCode.CONFLICT;
  readonly status = 409;
}

export class PayloadTooLargeError extends AppError {
  readonly code = ErrorCode.PAYLOAD_TOO_LARGE;
  readonly status = 413;
}

/** A path segment longer than the router accepts (no identifier of this API comes near it). */
export class UriTooLongError extends AppError {
  readonly code = ErrorCode.URI_TOO_LONG;
  readonly status = 414;

  constructor() {
    super('The request path is too long');
  }
}

export class UnsupportedMediaTypeError extends AppError {
  readonly code = ErrorCode.UNSUPPORTED_MEDIA_TYPE;
  readonly status = 415;
}

export class RateLimitedError extends AppError {
  readonly code = ErrorCode.RATE_LIMITED;
  readonly status = 429;

  constructor(readonly retryAfterSeconds: number) {
    super('Too many requests, retry later', { retryAfter: retryAfterSeconds });
  }

  override get headers(): Record<string, string> {
    return { 'Retry-After': String(this.retryAfterSeconds) };
  }
}

/** The request line and headers together exceed Node's header size limit. */
export class HeadersTooLargeError extends AppError {
  readonly code = ErrorCode.HEADERS_TOO_LARGE;
  readonly status = 431;

  constructor() {
    super('The request headers are too large');
  }
}

export class ServiceUnavailableError extends AppError {
  readonly code = ErrorCode.SERVICE_UNAVAILABLE;
  readonly status = 503;

  constructor(message = 'The service is temporarily unavailable, retry later', details?: ErrorDetails) {
    super(message, details);
  }
}

export class InternalError extends AppError {
  readonly code = ErrorCode.INTERNAL_ERROR;
  readonly status = 500;

  constructor() {
    super('An unexpected error occurred');
  }
}
