import { HttpException } from '@nestjs/common';
import {
  AppError,
  BadRequestError,
  ConflictError,
  ForbiddenError,
  InternalError,
  PayloadTooLargeError,
  RateLimitedError,
  ServiceUnavailableError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
} from './app-error';
import { isDatabaseUnavailableError, isDuplicateKeyError, isForeignKeyError, isValueTooLongError } from './driver-errors';
import { ErrorCode } from './error-codes';

/** An HTTP status raised by Nest or Fastify that has no AppError class of its own (405, 406, …). */
class HttpStatusError extends AppError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const FASTIFY_BAD_BODY_CODES = new Set([
  'FST_ERR_CTP_INVALID_JSON_BODY',
  'FST_ERR_CTP_EMPTY_JSON_BODY',
  'FST_ERR_CTP_INVALID_CONTENT_LENGTH',
  'FST_ERR_CTP_INVALID_TYPE',
]);

const STATUS_CODES: Record<number, string> = {
  404: ErrorCode.NOT_FOUND,
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
};

/**
 * Maps anything thrown while handling a request to the AppError the client sees. Unknown
 * errors become a generic 500: their text never leaves the process.
 */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (isDuplicateKeyError(error)) return new ConflictError('A record with the same unique value already exists');
  if (isForeignKeyError(error)) return new ConflictError('The record refers to, or is referred to by, a record that changed meanwhile');
  if (isValueTooLongError(error)) return new BadRequestError('A value is too long for its field');
  if (isDatabaseUnavailableError(error)) return new ServiceUnavailableError();
  const fastify = fastifyError(error);
  if (fastify) return fastify;
  if (error instanceof HttpException) return fromHttpException(error);
  if (error instanceof URIError) return new BadRequestError('The request path is not valid');
  return new InternalError();
}

function fastifyError(error: unknown): AppError | null {
  if (typeof error !== 'object' || error === null) return null;
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new PayloadTooLargeError('The request body is too large');
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return new UnsupportedMediaTypeError('The request body must be application/json');
  }
  if (typeof code === 'string' && FASTIFY_BAD_BODY_CODES.has(code)) {
    return new BadRequestError('The request body is not valid JSON');
  }
  if (error instanceof SyntaxError && statusCode === 400) {
    return new BadRequestError('The request body is not valid JSON');
  }
  if (typeof code === 'string' && code.startsWith('FST_') && typeof statusCode === 'number' && statusCode < 500) {
    return byStatus(statusCode, 'The request could not be processed');
  }
  return null;
}

function fromHttpException(error: HttpException): AppError {
  // Nest wraps the errors Fastify raises before the handler (body parsing) as HttpExceptions
  const fastify = fastifyError(error.cause);
  if (fastify) return fastify;
  const status = error.getStatus();
  // Nest's body parser wraps malformed JSON as a 400 carrying the SyntaxError's text
  if (status === 400 && error.cause instanceof SyntaxError) return new BadRequestError('The request body is not valid JSON');
  return byStatus(status, status >= 500 ? undefined : error.message);
}

function byStatus(status: number, message: string | undefined): AppError {
  switch (status) {
    case 400:
      return new BadRequestError(message ?? 'Bad request');
    case 401:
      return new UnauthorizedError(message);
    case 403:
      return new ForbiddenError(message);
    case 409:
      return new ConflictError(message ?? 'Conflict');
    case 413:
      return new PayloadTooLargeError('The request body is too large');
    case 415:
      return new UnsupportedMediaTypeError('The request body must be application/json');
    case 429:
      return new RateLimitedError(1);
    case 503:
      return new ServiceUnavailableError();
    default:
      if (status >= 500) return new InternalError();
      return new HttpStatusError(status, STATUS_CODES[status] ?? ErrorCode.BAD_REQUEST, message ?? 'Bad request');
  }
}
