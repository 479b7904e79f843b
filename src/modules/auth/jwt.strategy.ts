import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { Strategy } from 'passport-jwt';
import { AuthUser } from '../../core/auth/auth-user';
import { bearerTokenOf } from '../../core/auth/bearer-token';
import { UnauthorizedError } from '../../core/errors/app-error';
import { AccessAuthenticator } from './access-authenticator';
import { checkAccessClaims, JWT_ALGORITHM, JWT_AUDIENCE, JWT_ISSUER, TokenService } from './token.service';

/**
 * The access token as a passport strategy (`'jwt'`): for a route or a module that authenticates
 * with `@UseGuards(AuthGuard('jwt'))` from @nestjs/passport. It accepts exactly what the global
 * access guard accepts (access-token.spec.ts holds the two to the same verdicts): passport-jwt
 * checks the signature (HS256 only), `iss`, `aud` and `exp`; then the same claim and revocation
 * checks. The global guard does not go through passport on each request: passport's per-request
 * closures and jsonwebtoken's layers cost more than the rest of a cached read (bench/README.md).
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    tokens: TokenService,
    private readonly authenticator: AccessAuthenticator,
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

  async validate(claims: Record<string, unknown>): Promise<AuthUser> {
    if (!checkAccessClaims(claims)) throw new UnauthorizedError('A valid access token is required');
    return this.authenticator.userFor(claims);
  }
}
