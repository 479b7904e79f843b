import { JwtService } from '@nestjs/jwt';
import { createHmac } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { loadConfig } from '../../config/app-config';
import type { AuthUser } from '../../core/auth/auth-user';
import type { UserRecord, UsersService } from '../users';
import { AccessAuthenticator } from './access-authenticator';
import { JwtStrategy } from './jwt.strategy';
import { JWT_AUDIENCE, JWT_ISSUER, TokenService } from './token.service';

const config = loadConfig({});
const tokens = new TokenService(new JwtService(), config);
const jwt = new JwtService();
const USER = '0190f5b8-8a00-7000-8000-000000000001';
const SESSION = '0190f5b8-8a00-7000-8000-0000000000a1';
/** A session of USER's that has ended: its tokens are revoked although unexpired and of the current version. */
const ENDED = '0190f5b8-8a00-7000-8000-0000000000e1';
const record = { id: USER, roles: ['user'], tokenVersion: 3, emailVerifiedAt: null, endedSessions: [ENDED] } as unknown as UserRecord;
const users = { findCached: (id: string) => Promise.resolve(id === USER ? record : null) } as unknown as UsersService;
const authenticator = new AccessAuthenticator(tokens, users);
const strategy = new JwtStrategy(tokens, authenticator);

const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A token with any header and payload, signed HS256 with `secret` (the access key by default). */
function forge(header: unknown, payload: unknown, secret: string = config.jwt.accessSecret): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
const claims = (extra: Record<string, unknown> = {}) => ({
  sub: USER,
  typ: 'access',
  ver: 3,
  sid: SESSION,
  iss: JWT_ISSUER,
  aud: JWT_AUDIENCE,
  iat: now(),
  exp: now() + 600,
  ...extra,
});
const HS256 = { alg: 'HS256', typ: 'JWT' };
/** A token from raw JSON texts (what JSON.stringify cannot write: 1e400, other spacing). */
function forgeRaw(header: string, payload: string): string {
  const input = `${Buffer.from(header).toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
  return `${input}.${createHmac('sha256', config.jwt.accessSecret).update(input).digest('base64url')}`;
}

/** passport-jwt's verdict, through the strategy exactly as `AuthGuard('jwt')` runs it. */
function passportVerdict(token: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const run = Object.create(strategy) as JwtStrategy & {
      success: (user: AuthUser) => void;
      fail: () => void;
      error: (error: Error) => void;
    };
    run.success = () => resolve(true);
    run.fail = () => resolve(false);
    // validate() throwing a 401 reaches passport as an error
    run.error = (error: Error) => ((error as Error & { status?: number }).status === 401 ? resolve(false) : reject(error));
    run.authenticate({ headers: { authorization: `Bearer ${token}` } } as never, {});
  });
}

/** The global guard's verdict: the node:crypto verifier, then the same revocation check. */
async function guardVerdict(token: string): Promise<boolean> {
  const request = { headers: { authorization: `Bearer ${token}` } } as FastifyRequest;
  return authenticator.authenticate(request).then(
    () => true,
    () => false,
  );
}

describe('access-token verification: the global guard and passport-jwt agree', () => {
  const cases: Array<[string, () => string, boolean]> = [
    ['a token signAccess issued', () => tokens.signAccess(USER, 3, SESSION), true],
    ['no session id', () => forge(HS256, claims({ sid: undefined })), false],
    ['a session id that is not a UUID', () => forge(HS256, claims({ sid: 'session-1' })), false],
    ['a session id that is a number', () => forge(HS256, claims({ sid: 7 })), false],
    ['the session has ended (token unexpired, version current)', () => tokens.signAccess(USER, 3, ENDED), false],
    ['a forged token with the same claims and key (what signAccess makes)', () => forge(HS256, claims()), true],
    ['an extra header member (kid)', () => forge({ ...HS256, kid: 'k1' }, claims()), true],
    ['aud as an array holding ours', () => forge(HS256, claims({ aud: ['other', JWT_AUDIENCE] })), true],
    ['nbf in the past', () => forge(HS256, claims({ nbf: now() - 10 })), true],
    ['expired', () => forge(HS256, claims({ exp: now() - 1 })), false],
    ['exp now (expired at this second)', () => forge(HS256, claims({ exp: now() })), false],
    ['no exp', () => forge(HS256, { ...claims(), exp: undefined }), false],
    ['exp not a number', () => forge(HS256, claims({ exp: String(now() + 600) })), false],
    ['nbf in the future', () => forge(HS256, claims({ nbf: now() + 60 })), false],
    ['another issuer', () => forge(HS256, claims({ iss: 'someone-else' })), false],
    ['another audience', () => forge(HS256, claims({ aud: 'other-api' })), false],
    ['a refresh token', () => tokens.signRefresh(USER, 'jti', 'fam', new Date(Date.now() + 60_000)), false],
    ['typ refresh signed with the access key', () => forge(HS256, claims({ typ: 'refresh' })), false],
    ['no typ', () => forge(HS256, { ...claims(), typ: undefined }), false],
    ['ver not a number', () => forge(HS256, claims({ ver: '3' })), false],
    ['an old token version (revoked)', () => forge(HS256, claims({ ver: 2 })), false],
    ['an unknown user', () => forge(HS256, claims({ sub: '0190f5b8-8a00-7000-8000-00000000ffff' })), false],
    ['signed with another secret', () => forge(HS256, claims(), 'not-the-access-secret-not-the-access-secret'), false],
    ['signed with the refresh secret', () => forge(HS256, claims(), config.jwt.refreshSecret), false],
    ['alg none, no signature', () => `${b64({ alg: 'none' })}.${b64(claims())}.`, false],
    ['alg HS512 with the access key', () => jwt.sign(claims(), { secret: config.jwt.accessSecret, algorithm: 'HS512' }), false],
    [
      'alg HS256 in the header, HS512 signature',
      () => {
        const input = `${b64(HS256)}.${b64(claims())}`;
        return `${input}.${createHmac('sha512', config.jwt.accessSecret).update(input).digest('base64url')}`;
      },
      false,
    ],
    [
      'a payload changed after signing',
      () => {
        const [h, , s] = forge(HS256, claims()).split('.');
        return `${h}.${b64(claims({ ver: 3, sub: USER, roles: ['admin'] }))}.${s}`;
      },
      false,
    ],
    ['padding after the signature', () => `${forge(HS256, claims())}=`, false],
    ['four segments', () => `${forge(HS256, claims())}.x`, false],
    ['two segments', () => forge(HS256, claims()).split('.').slice(0, 2).join('.'), false],
    [
      'a payload that is not JSON',
      () => {
        const input = `${b64(HS256)}.${Buffer.from('not json').toString('base64url')}`;
        return `${input}.${createHmac('sha256', config.jwt.accessSecret).update(input).digest('base64url')}`;
      },
      false,
    ],
    ['a payload that is an array', () => forge(HS256, [claims()]), false],
    ['a header that is not JSON', () => `${Buffer.from('{alg').toString('base64url')}.${b64(claims())}.abc`, false],
    [
      'our header spelled another way (spaces, member order)',
      () => forgeRaw('{ "typ": "JWT", "alg": "HS256" }', JSON.stringify(claims())),
      true,
    ],
    [
      'exp beyond any date (1e400 parses as Infinity)',
      () => forgeRaw(JSON.stringify(HS256), JSON.stringify(claims()).replace(/"exp":\d+/, '"exp":1e400')),
      false,
    ],
    ['a sub that is not a user id', () => forge(HS256, claims({ sub: 'admin' })), false],
    [
      'the signature with its last character re-spelled (same bytes, other padding bits)',
      () => {
        const token = forge(HS256, claims());
        const last = token.at(-1)!;
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
        // 32 bytes in 43 characters: the last one carries 4 bits and 2 unused ones
        const respelled = alphabet[alphabet.indexOf(last) ^ 1]!;
        return token.slice(0, -1) + respelled;
      },
      false,
    ],
  ];

  it.each(cases)('%s', async (_name, make, accepted) => {
    const token = make();
    expect(await guardVerdict(token)).toBe(accepted);
    expect(await passportVerdict(token)).toBe(accepted);
  });

  it('is stricter than passport-jwt on one point: a header with `crit` (an extension it would have to understand)', async () => {
    const token = forge({ ...HS256, crit: ['exp'] }, claims());
    expect(await guardVerdict(token)).toBe(false);
    expect(await passportVerdict(token)).toBe(true);
  });
});

describe('AccessAuthenticator', () => {
  it('verifies the token once per request, whoever asks first (the limiter, then authentication)', async () => {
    const verify = jest.spyOn(tokens, 'verifyAccess');
    try {
      const token = tokens.signAccess(USER, 3, SESSION);
      const request = { headers: { authorization: `Bearer ${token}` } } as FastifyRequest;
      expect(authenticator.limiterSubjectOf(request)).toBe(`${USER}:3`);
      expect(authenticator.limiterSubjectOf(request)).toBe(`${USER}:3`);
      await expect(authenticator.authenticate(request)).resolves.toEqual({
        id: USER,
        roles: ['user'],
        sessionId: SESSION,
        emailVerified: false,
      });
      expect(verify).toHaveBeenCalledTimes(1);
      // another request is verified on its own
      const other = { headers: { authorization: `Bearer ${token}` } } as FastifyRequest;
      expect(authenticator.limiterSubjectOf(other)).toBe(`${USER}:3`);
      expect(verify).toHaveBeenCalledTimes(2);
      // a request without a (valid) token is remembered as anonymous too
      const anonymous = { headers: { authorization: 'Bearer x.y.z' } } as FastifyRequest;
      expect(authenticator.limiterSubjectOf(anonymous)).toBeNull();
      await expect(authenticator.authenticate(anonymous)).rejects.toMatchObject({ status: 401 });
      expect(verify).toHaveBeenCalledTimes(3);
    } finally {
      verify.mockRestore();
    }
  });
});
