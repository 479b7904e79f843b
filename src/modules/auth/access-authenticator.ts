import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuthUser } from '../../core/auth/auth-user';
import { Authenticator } from '../../core/auth/authenticator';
import { bearerTokenOf } from '../../core/auth/bearer-token';
import { UnauthorizedError } from '../../core/errors/app-error';
import { UsersService } from '../users';
import { AccessClaims, TokenService } from './token.service';

/** The request's verified claims (null: none), once the first asker has verified them. */
const CLAIMS = Symbol('app.accessClaims');

/**
 * Authentication for the core's access guard: the bearer token verified once per request (the
 * claims are kept for the request, so the rate limiter and authentication share one HMAC), then
 * the user's current state through the users cache: a deleted user, a token version bumped by
 * logout-all, a password or a role change, or a session ended, fails at once. The user read goes through the cache's
 * per-request memo, so a handler reading the same user again (`GET /users/:own-id`) reads nothing.
 */
@Injectable()
export class AccessAuthenticator extends Authenticator {
  constructor(
    private readonly tokens: TokenService,
    private readonly users: UsersService,
  ) {
    super();
  }

  limiterSubjectOf(request: FastifyRequest): string | null {
    const claims = this.claimsOf(request);
    return claims ? `${claims.sub}:${claims.ver}` : null;
  }

  authenticate(request: FastifyRequest): Promise<AuthUser> {
    const claims = this.claimsOf(request);
    if (!claims) return Promise.reject(new UnauthorizedError('A valid access token is required'));
    return this.userFor(claims);
  }

  /**
   * The user behind verified claims, unless the token has been revoked since it was issued: by
   * the user's token version (logout-all, password, roles, deletion) or by its session having
   * ended (`endedSessions`, read with the user: no second look-up).
   */
  async userFor(claims: AccessClaims): Promise<AuthUser> {
    const user = await this.users.findCached(claims.sub);
    if (!user || user.tokenVersion !== claims.ver || user.endedSessions.includes(claims.sid)) {
      throw new UnauthorizedError('The access token has been revoked');
    }
    return { id: user.id, roles: user.roles, sessionId: claims.sid, emailVerified: user.emailVerifiedAt !== null };
  }

  private claimsOf(request: FastifyRequest): AccessClaims | null {
    const slot = request as FastifyRequest & { [CLAIMS]?: AccessClaims | null };
    let claims = slot[CLAIMS];
    if (claims === undefined) {
      const token = bearerTokenOf(request.headers.authorization);
      claims = token === null ? null : this.tokens.verifyAccess(token);
      slot[CLAIMS] = claims;
    }
    return claims;
  }
}
