import type { FastifyRequest } from 'fastify';
import { AuthUser } from './auth-user';

/**
 * Who a request is, as the core's access guard asks it; provided by the auth module, which owns
 * tokens and users. The access token is verified once per request, whoever asks first (the rate
 * limiter keys verified callers by user id, before authentication runs), and the answer shared.
 */
export abstract class Authenticator {
  /**
   * Who the request's bearer token says the caller is, as the rate limiter counts it: the user id
   * and the token version (`<id>:<ver>`) when the token is validly signed, unexpired and an access
   * token; null otherwise. Revocation is not checked here (no cache, no database), so the version
   * is part of the key: a token revoked by logout-all or a password change fills a counter of its
   * own, never the one its user's new tokens are counted in (a leaked token replayed after
   * logout-all cannot lock its user out).
   */
  abstract limiterSubjectOf(request: FastifyRequest): string | null;

  /**
   * The caller, with revocation checked against the user's current state (one cache read when
   * warm); 401 `UNAUTHORIZED` for a missing, invalid, expired or revoked token.
   */
  abstract authenticate(request: FastifyRequest): Promise<AuthUser>;
}
