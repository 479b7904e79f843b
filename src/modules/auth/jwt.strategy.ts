import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { Strategy } from 'passport-jwt';
import { AuthUser } from '../../core/auth/auth-user';
import { bearerTokenOf } from '../../core/auth/bearer-token';
import { UnauthorizedError } from '../../core/errors/app-error';
import { UsersService } from '../users';
import { AccessClaims, JWT_ALGORITHM, JWT_AUDIENCE, JWT_ISSUER, TokenService } from './token.service';

/**
 * Checks the access token (signature, HS256 only, iss, aud, exp, typ), then the user's current
 * state through the users cache: a deleted user, or a token version bumped by logout-all, a
 * password or a role change, fails at once.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    tokens: TokenService,
    private readonly users: UsersService,
  ) {
    super({
      // not ExtractJwt.fromAuthHeaderAsBearerToken: it ignores text after the token, and the rate
      // limiter must read the header exactly as authentication does
      jwtFromRequest: (request: FastifyRequest) => bearerTokenOf(request.headers.authorization),
      secretOrKey: tokens.accessKey as unknown as Buffer,
      algorithms: [JWT_ALGORITHM],
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
      ignoreExpiration: false,
    });
  }

  async validate(claims: Partial<AccessClaims>): Promise<AuthUser> {
    if (claims.typ !== 'access' || typeof claims.sub !== 'string' || typeof claims.ver !== 'number') {
      throw new UnauthorizedError('The access token is invalid');
    }
    const user = await this.users.findCached(claims.sub);
    if (!user || user.tokenVersion !== claims.ver) throw new UnauthorizedError('The access token has been revoked');
    return { id: user.id, roles: user.roles };
  }
}
