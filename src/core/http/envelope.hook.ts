import type { FastifyInstance, FastifyReply } from 'fastify';
import { meta } from './envelope';
import { CursorPage, OffsetPage } from './pagination';

/** Set by the exception filter: the payload is already an error envelope. */
const ENVELOPED = Symbol('app.enveloped');

export function markEnveloped(reply: FastifyReply): void {
  (reply as unknown as Record<symbol, boolean>)[ENVELOPED] = true;
}

/** The routes the contract envelopes: the API and the health probes (not /docs, not /metrics). */
const ENVELOPED_PREFIXES = ['/api/', '/health/'];

/**
 * Wraps every successful object payload as `{ data, meta }`, in Fastify's preSerialization
 * hook. (A Nest interceptor does the same through an rxjs pipeline per request, which cost a
 * third of a simple route's throughput; see bench/README.md.) Lists returned as `OffsetPage` /
 * `CursorPage` add `meta.pagination` / `meta.cursor`; 204s have no payload and stay bodiless.
 */
export function registerEnvelopeHook(fastify: FastifyInstance): void {
  fastify.addHook('preSerialization', (request, reply, payload, done) => {
    const route = request.routeOptions.url;
    if ((reply as unknown as Record<symbol, boolean>)[ENVELOPED] || !route || !ENVELOPED_PREFIXES.some((p) => route.startsWith(p))) {
      done(null, payload);
      return;
    }
    done(null, envelope(payload, request.id));
  });
}

function envelope(result: unknown, requestId: string): unknown {
  if (result instanceof OffsetPage) {
    const { page, pageSize, total, totalPages } = result;
    return { data: result.items, meta: { ...meta(requestId), pagination: { page, pageSize, total, totalPages } } };
  }
  if (result instanceof CursorPage) {
    return { data: result.items, meta: { ...meta(requestId), cursor: { next: result.next, limit: result.limit } } };
  }
  return { data: result, meta: meta(requestId) };
}
