import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { createHash, createHmac, createSecretKey, KeyObject, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { UnauthorizedError } from '../../core/errors/app-error';

export const JWT_ISSUER = 'modular-monolith';
export const JWT_AUDIENCE = 'modular-monolith-api';
export const JWT_ALGORITHM = 'HS256';

export interface AccessClaims {
  sub: string;
  typ: 'access';
  /** The user's token version at issue time: a newer version in the database revokes this token. */
  ver: number;
  /** The session (refresh-token family) it was issued to: ending that session revokes this token. */
  sid: string;
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
 *
 * Access tokens, checked on every request, are verified here with `node:crypto` (one HMAC, no
 * library layers): the same checks as passport-jwt's, which `JwtStrategy` runs, and at least as
 * strict (access-token.spec.ts holds the two to the same verdicts).
 */
@Injectable()
export class TokenService {
  readonly accessKey: KeyObject;
  private readonly refreshKey: KeyObject;
  /** The header segment of the tokens we sign (jsonwebtoken writes the same one every time): accepted without parsing. */
  private readonly ownHeader: string;

  constructor(
    private readonly jwt: JwtService,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    this.accessKey = createSecretKey(Buffer.from(config.jwt.accessSecret, 'utf8'));
    this.refreshKey = createSecretKey(Buffer.from(config.jwt.refreshSecret, 'utf8'));
    const zero = '00000000-0000-0000-0000-000000000000';
    this.ownHeader = this.signAccess(zero, 0, zero).split('.')[0]!;
  }

  signAccess(userId: string, tokenVersion: number, sessionId: string): string {
    const claims: AccessClaims = { sub: userId, typ: 'access', ver: tokenVersion, sid: sessionId };
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

  /**
   * The claims of a validly signed, unexpired access token, or null. Exactly one signature
   * scheme: three base64url segments, a header saying HS256 (and nothing that must be
   * understood: no `crit`), an HMAC-SHA256 compared in constant time, then `checkAccessClaims`.
   */
  verifyAccess(token: string, nowSeconds = Math.floor(Date.now() / 1000)): AccessClaims | null {
    const headerEnd = token.indexOf('.');
    const payloadEnd = token.indexOf('.', headerEnd + 1);
    if (headerEnd <= 0 || payloadEnd <= headerEnd + 1 || token.indexOf('.', payloadEnd + 1) !== -1) return null;
    if (!this.isAcceptedHeader(token.slice(0, headerEnd))) return null;
    const expected = createHmac('sha256', this.accessKey).update(token.slice(0, payloadEnd)).digest('base64url');
    const signature = token.slice(payloadEnd + 1);
    if (signature.length !== expected.length || !timingSafeEqual(Buffer.from(signature), Buffer.from(expected))) return null;
    // signed by us: the payload segment is ours byte for byte, no need to check its alphabet
    const claims = parseSegment(token.slice(headerEnd + 1, payloadEnd), false);
    return claims && checkAccessClaims(claims, nowSeconds) ? claims : null;
  }

  private isAcceptedHeader(segment: string): boolean {
    if (segment === this.ownHeader) return true;
    // any other spelling is parsed each time (nothing a caller sends is remembered)
    const header = parseSegment(segment);
    // `crit` names extensions the verifier must understand (RFC 7515 §4.1.11): we understand none
    return header !== null && header.alg === JWT_ALGORITHM && header.crit === undefined;
  }

  static hash(token: string): string {
    return createHash('sha256').update(token).digest('hex');
  }
}

/**
 * The claims an access token must carry, checked after its signature (by `verifyAccess`, and by
 * `JwtStrategy` after passport-jwt's own checks): the access type, the issuer and audience, a
 * user id and a session id (UUIDs, as every such id is), a token version, a finite expiry in the future, and no
 * `nbf` in the future.
 */
export function checkAccessClaims(
  claims: Record<string, unknown>,
  nowSeconds = Math.floor(Date.now() / 1000),
): claims is Record<string, unknown> & AccessClaims {
  const { typ, sub, ver, sid, iss, aud, exp, nbf } = claims;
  return (
    typ === 'access' &&
    typeof sub === 'string' &&
    USER_ID.test(sub) &&
    typeof sid === 'string' &&
    USER_ID.test(sid) &&
    typeof ver === 'number' &&
    Number.isInteger(ver) &&
    iss === JWT_ISSUER &&
    (aud === JWT_AUDIENCE || (Array.isArray(aud) && aud.includes(JWT_AUDIENCE))) &&
    typeof exp === 'number' &&
    Number.isFinite(exp) &&
    nowSeconds < exp &&
    (nbf === undefined || (typeof nbf === 'number' && nbf <= nowSeconds))
  );
}

/** A base64url JSON object segment, or null (not base64url, not JSON, not an object). */
function parseSegment(segment: string, checkAlphabet = true): Record<string, unknown> | null {
  // Buffer.from skips characters outside the alphabet: a segment from outside is checked first
  if (checkAlphabet && !BASE64URL.test(segment)) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const USER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
