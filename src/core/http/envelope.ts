import { AppError } from '../errors/app-error';

export interface ResponseMeta {
  requestId: string;
  timestamp: string;
  pagination?: { page: number; pageSize: number; total: number; totalPages: number };
  cursor?: { next: string | null; limit: number };
}

export function meta(requestId: string): ResponseMeta {
  return { requestId, timestamp: new Date().toISOString() };
}

export function errorEnvelope(error: AppError, requestId: string) {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
    },
    meta: meta(requestId),
  };
}
