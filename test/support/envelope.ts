import type { LightMyRequestResponse } from 'fastify';
import { ErrorCode } from '../../src/core/errors/error-codes';

/** The error codes of the contract (docs/API.md "Errors"): core codes and the accounts module's. */
export const CONTRACT_CODES: ReadonlySet<string> = new Set([
  ...Object.values(ErrorCode),
  'INSUFFICIENT_FUNDS',
  'CURRENCY_MISMATCH',
  'IDEMPOTENCY_KEY_MISMATCH',
  'BALANCE_LIMIT',
]);

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export interface HttpAnswer {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

/**
 * What is wrong with an answer under /api or /health, or null: a body must be `{data, meta}` or
 * `{error: {code, message}, meta}` with a contract code, `meta.requestId` equal to the
 * `X-Request-Id` header, and the answer must say `Cache-Control: no-store`.
 */
export function envelopeProblem(res: HttpAnswer | LightMyRequestResponse): string | null {
  const requestId = res.headers['x-request-id'];
  if (typeof requestId !== 'string' || requestId === '') return 'no X-Request-Id header';
  if (res.headers['cache-control'] !== 'no-store') return `Cache-Control is ${String(res.headers['cache-control'])}`;
  if (res.statusCode === 204 || (res.body === '' && res.statusCode < 300)) return null;
  let body: Record<string, any>;
  try {
    body = JSON.parse(res.body);
  } catch {
    return `not JSON: ${res.body.slice(0, 200)}`;
  }
  if (typeof body !== 'object' || body === null) return 'not an object';
  const keys = Object.keys(body).sort().join(',');
  if (body.meta?.requestId !== requestId) return `meta.requestId ${body.meta?.requestId} is not the header's ${requestId}`;
  if (!ISO.test(body.meta?.timestamp)) return 'meta.timestamp is not an ISO timestamp';
  if (res.statusCode < 400) return keys === 'data,meta' ? null : `success keys ${keys}`;
  if (keys !== 'error,meta') return `error keys ${keys}`;
  const { code, message } = body.error ?? {};
  if (typeof code !== 'string' || !CONTRACT_CODES.has(code)) return `code ${code} is not a contract code`;
  if (typeof message !== 'string' || message === '') return 'no message';
  return null;
}

/** Asserts an error envelope with this status (and code, when given). */
export function expectErrorEnvelope(res: HttpAnswer | LightMyRequestResponse, status: number, code?: string): Record<string, any> {
  const body = res.body ? JSON.parse(res.body) : undefined;
  expect({ status: res.statusCode, code: body?.error?.code, problem: envelopeProblem(res) }).toEqual({
    status,
    code: code ?? body?.error?.code,
    problem: null,
  });
  return body;
}
