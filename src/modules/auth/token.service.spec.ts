import { JwtService } from '@nestjs/jwt';
import { loadConfig } from '../../config/app-config';
import { TokenService } from './token.service';

describe('TokenService', () => {
  const tokens = new TokenService(new JwtService(), loadConfig({}));
  const expOf = (jwt: string) => (JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number }).exp;

  afterEach(() => jest.useRealTimers());

  it('a refresh token expires exactly at its expiresAt (whole seconds), not at a duration rounded from the clock', () => {
    // an `expiresIn` rounded from this reading and added to jsonwebtoken's own `iat` is off by a
    // second in either direction, depending on where the clock readings fall
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00.999Z') });
    const expiresAt = new Date('2026-01-01T00:10:00.400Z');
    const jwt = tokens.signRefresh('u', 'jti', 'fam', expiresAt);
    expect(expOf(jwt)).toBe(Math.floor(expiresAt.getTime() / 1000));
    expect(tokens.verifyRefresh(jwt)).toMatchObject({ sub: 'u', jti: 'jti', fam: 'fam', typ: 'refresh' });
  });
});
