import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { createHash, createSecretKey, KeyObject } from 'node:crypto';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { AccessTokenReader } from '../../core/auth/access-token-reader';
import { bearerTokenOf } from '../../core/auth/bearer-token';
import { UnauthorizedError } from '../../core/errors/app-error';

export const JWT_ISSUER = 'modular-monolith';
export const JWT_AUDIENCE = 'modular-monolith-api';
export const JWT_ALGORITHM = 'HS256';

export interface AccessClaims {
  sub: string;
  typ: 'access';
  /** The user's token version at issue time: a newer version in the database revokes this token. */
  ver: number;
}

export interface RefreshClaims {
  sub: string;
  typ: 'refresh';
  jti: string;
  fam: string;
  exp: number;
}

/**
 * Signs and checks tokens. Access and refresh tokens use different secrets and a `typ` claim,
 * so neither can stand in for the other; only HS256 is accepted. Secrets are KeyObjects made
 * once: given a string, jsonwebtoken would try to parse it as a public key on every call.
 */
@Injectable()
export class TokenService implements AccessTokenReader {
  readonly accessKey: KeyObject;
  private readonly refreshKey: KeyObject;

  constructor(
    private readonly jwt: JwtService,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    this.accessKey = createSecretKey(Buffer.from(config.jwt.accessSecret, 'utf8'));
    this.refreshKey = createSecretKey(Buffer.from(config.jwt.refreshSecret, 'utf8'));
  }

  signAccess(userId: string, tokenVersion: number): string {
    const claims: AccessClaims = { sub: userId, typ: 'access', ver: tokenVersion };
    return this.jwt.sign(claims, {
      secret: this.accessKey as unknown as string,
      algorithm: JWT_ALGORITHM,
      expiresIn: this.config.jwt.accessTtl,
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
    });
  }

  signRefresh(userId: string, jti: string, familyId: string, expiresAt: Date): string {
    // `exp` from expiresAt itself: an `expiresIn` measured from one clock reading and added to
    // jsonwebtoken's own `iat` (another reading) could land a second past the family's end
    return this.jwt.sign(
      { sub: userId, typ: 'refresh', fam: familyId, exp: Math.floor(expiresAt.getTime() / 1000) },
      {
        secret: this.refreshKey as unknown as string,
        algorithm: JWT_ALGORITHM,
        issuer: JWT_ISSUER,
        audience: JWT_AUDIENCE,
        jwtid: jti,
      },
    );
  }

  /** The refresh token's claims, or 401 for anything forged, expired, or not a refresh token. */
  verifyRefresh(token: string): RefreshClaims {
    let claims: Partial<RefreshClaims>;
    try {
      claims = this.jwt.verify<RefreshClaims>(token, {
        secret: this.refreshKey as unknown as string,
        algorithms: [JWT_ALGORITHM],
        issuer: JWT_ISSUER,
        audience: JWT_AUDIENCE,
      });
    } catch {
      throw new UnauthorizedError('The refresh token is invalid or expired');
    }
    if (claims.typ !== 'refresh' || !claims.jti || !claims.fam || !claims.sub) {
      throw new UnauthorizedError('The refresh token is invalid or expired');
    }
    return claims as RefreshClaims;
  }

  /** The `sub` of a validly signed, unexpired access token (revocation is checked later, by the strategy). */
  subjectOf(authorization: string | string[] | undefined): string | null {
    const token = bearerTokenOf(authorization);
    if (!token) return null;
    try {
      const claims = this.jwt.verify<Partial<AccessClaims>>(token, {
        secret: this.accessKey as unknown as string,
        algorithms: [JWT_ALGORITHM],
        issuer: JWT_ISSUER,
        audience: JWT_AUDIENCE,
      });
      return claims.typ === 'access' && typeof claims.sub === 'string' ? claims.sub : null;
    } catch {
      return null;
    }
  }

  static hash(token: string): string {
    return createHash('sha256').update(token).digest('hex');
  }
}
