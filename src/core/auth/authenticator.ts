import type { FastifyRequest } from 'fastify';
import { AuthUser } from './auth-user';

/**
 * Who a request is, as the core's access guard asks it; provided by the auth module, which owns
 * tokens and users. The access token is verified once per request, whoever asks first (the rate
 * limiter keys verified callers by user id, before authentication runs), and the answer shared.
 */
export abstract class Authenticator {
  /**
   * The user id of the request's bearer token when it is validly signed, unexpired and an access
   * token; null otherwise. Revocation is not checked here (no cache, no database).
   */
  abstract subjectOf(request: FastifyRequest): string | null;

  /**
   * The caller, with revocation checked against the user's current state (one cache read when
   * warm); 401 `UNAUTHORIZED` for a missing, invalid, expired or revoked token.
   */
  abstract authenticate(request: FastifyRequest): Promise<AuthUser>;
}
