import type { FastifyReply, FastifyRequest } from 'fastify';
import { HeaderSet, securityHeaderSets } from './security-headers';

/** The Swagger UI and its assets may be cached; nothing else may (tokens, personal data, errors). */
const CACHEABLE_PATH = /^\/docs(?:[/?#]|$)/;

/**
 * The headers every answer carries: the security headers for its protocol, `X-Request-Id` and,
 * outside /docs, `Cache-Control: no-store`. Applied first thing in `onRequest`, and by the
 * handlers of the answers Fastify gives before any hook runs (see fastify-refusals.ts).
 */
export class EdgeHeaders {
  private readonly sets = securityHeaderSets();

  apply(request: FastifyRequest, reply: FastifyReply): void {
    // request.protocol reads X-Forwarded-Proto only from a proxy TRUST_PROXY trusts
    void reply.headers(this.security(request.protocol === 'https')).header('X-Request-Id', request.id);
    if (!CACHEABLE_PATH.test(request.url)) void reply.header('Cache-Control', 'no-store');
  }

  security(secure: boolean): HeaderSet {
    return secure ? this.sets.https : this.sets.http;
  }
}
