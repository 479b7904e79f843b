import type { AppConfig } from '../../config/app-config';
import { loadConfig } from '../../config/app-config';
import type { UnitOfWork } from '../../core/database/unit-of-work';
import type { Outbox } from '../../core/outbox/outbox';
import { UnauthorizedError } from '../../core/errors/app-error';
import type { UserCredentialsService, UserRecord, UsersService } from '../users';
import { AuthService, cleanUserAgent } from './auth.service';
import type { RefreshToken } from './refresh-token.entity';
import type { RefreshTokensRepository } from './refresh-tokens.repository';
import type { SessionsRepository } from './sessions.repository';
import type { OneTimeTokensRepository } from './one-time-tokens.repository';
import { TokenService } from './token.service';

/** The refresh-token store in memory, with the same conditional insert and rotation as the real one. */
class FakeRefreshTokens {
  readonly rows = new Map<string, RefreshToken>();
  /** The users table's token versions, as the conditional insert reads them. */
  readonly tokenVersions = new Map<string, number>();
  createForTokenVersion(row: RefreshToken, tokenVersion: number) {
    if (this.tokenVersions.get(row.userId) !== tokenVersion) return Promise.resolve(false);
    this.rows.set(row.id, { ...row });
    return Promise.resolve(true);
  }
  findById(id: string) {
    const row = this.rows.get(id);
    return Promise.resolve(row ? { ...row } : null);
  }
  rotate(_tx: unknown, oldId: string, successor: RefreshToken) {
    const old = this.rows.get(oldId);
    if (!old || old.status !== 'active') return Promise.resolve(false);
    old.status = 'used';
    old.replacedBy = successor.id;
    this.rows.set(successor.id, { ...successor });
    return Promise.resolve(true);
  }
  revokeFamiliesInTx(_tx: unknown, familyIds: readonly string[]) {
    for (const row of this.rows.values()) if (familyIds.includes(row.familyId)) row.status = 'revoked';
    return Promise.resolve();
  }
  readonly revokedInTx: unknown[] = [];
  revokeAllForUserInTx(tx: unknown, userId: string) {
    this.revokedInTx.push(tx);
    for (const row of this.rows.values()) if (row.userId === userId) row.status = 'revoked';
    return Promise.resolve();
  }
}

describe('AuthService', () => {
  const user: UserRecord = {
    id: '01935f4e-0000-7000-8000-000000000001',
    email: 'a@example.com',
    name: 'A',
    roles: ['user'],
    tokenVersion: 0,
    emailVerifiedAt: null,
    endedSessions: [],
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
  };
  let tokens: FakeRefreshTokens;
  let auth: AuthService;
  let config: AppConfig;
  const passwordTx = { name: 'the password-change transaction', publish: () => Promise.resolve() };
  const logoutAllTx = { name: 'the logout-all transaction', publish: () => Promise.resolve() };
  /** Runs once the password was verified, before the login goes on (a request racing the login). */
  let afterVerify: () => void;
  let databaseDown: boolean;

  beforeEach(async () => {
    const { JwtService } = await import('@nestjs/jwt');
    config = loadConfig({});
    tokens = new FakeRefreshTokens();
    tokens.tokenVersions.set(user.id, user.tokenVersion);
    afterVerify = () => undefined;
    databaseDown = false;
    const users = {
      findCached: (id: string) => Promise.resolve(id === user.id ? user : null),
      findIdByEmail: (email: string) => Promise.resolve(email === user.email ? user.id : null),
    };
    const bump = (id: string) => tokens.tokenVersions.set(id, (tokens.tokenVersions.get(id) ?? 0) + 1);
    const credentials = {
      verify: (email: string, password: string) => {
        if (databaseDown) return Promise.reject(new Error('database down'));
        // the row (and its version) is read, then the password checked
        const found = email === user.email && password === 'right' ? { ...user, tokenVersion: tokens.tokenVersions.get(user.id)! } : null;
        afterVerify();
        return Promise.resolve(found);
      },
      // the real ones bump the version and run endSessions in one transaction
      changePassword: (id: string, _current: string, _next: string, endSessions: (tx: unknown) => Promise<void>) => {
        bump(id);
        return endSessions(passwordTx);
      },
      endAllSessions: (id: string, endSessions: (tx: unknown) => Promise<void>) => {
        bump(id);
        return endSessions(logoutAllTx);
      },
      // the real one lists the sessions on the user row; here only the caller's part runs
      endSessions: async (_id: string, _sessions: string[], endSessions: (tx: unknown) => Promise<void>) => {
        await endSessions({ name: 'an end-sessions transaction', publish: () => Promise.resolve() });
        return true;
      },
    };
    const sessions = {
      createInTx: () => Promise.resolve(),
      touchInTx: () => Promise.resolve(),
      endInTx: () => Promise.resolve(),
      endAllInTx: () => Promise.resolve(),
    };
    auth = new AuthService(
      users as unknown as UsersService,
      credentials as unknown as UserCredentialsService,
      new TokenService(new JwtService({}), config),
      tokens as unknown as RefreshTokensRepository,
      sessions as unknown as SessionsRepository,
      { voidAllInTx: () => Promise.resolve(), purgeExpired: () => Promise.resolve(0) } as unknown as OneTimeTokensRepository,
      { run: <T>(work: (tx: unknown) => Promise<T>) => work({ publish: () => Promise.resolve() }) } as unknown as UnitOfWork,
      { publish: () => Promise.resolve() } as unknown as Outbox,
      config,
    );
  });

  it('refuses bad credentials with one message for both causes', async () => {
    await expect(auth.login(user.email, 'wrong')).rejects.toThrow('The email or password is incorrect');
    await expect(auth.login('nobody@example.com', 'right')).rejects.toThrow('The email or password is incorrect');
  });

  it('a login whose password check failed (the database is down) answers that error, not a 401', async () => {
    databaseDown = true;
    await expect(auth.login(user.email, 'right')).rejects.toThrow('database down');
  });

  it('stores only a hash of each refresh token', async () => {
    const pair = await auth.login(user.email, 'right');
    const [row] = [...tokens.rows.values()];
    expect(row!.tokenHash).toBe(TokenService.hash(pair.refreshToken));
    expect(JSON.stringify([...tokens.rows.values()])).not.toContain(pair.refreshToken);
  });

  it('rotates once; reusing the old token revokes the family, successor included', async () => {
    const first = await auth.login(user.email, 'right');
    const second = await auth.refresh(first.refreshToken);
    await expect(auth.refresh(first.refreshToken)).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(auth.refresh(second.refreshToken)).rejects.toBeInstanceOf(UnauthorizedError);
    expect([...tokens.rows.values()].every((row) => row.status !== 'active')).toBe(true);
  });

  it('a password change revokes every refresh token inside the password-change transaction', async () => {
    await auth.login(user.email, 'right');
    await auth.login(user.email, 'right');
    await auth.changePassword(user.id, 'right', 'new-password-1');
    expect(tokens.revokedInTx).toEqual([passwordTx]);
    expect([...tokens.rows.values()].map((row) => row.status)).toEqual(['revoked', 'revoked']);
  });

  it('a login whose sessions ended while its password was checked is the same 401 and stores no token', async () => {
    afterVerify = () => void auth.logoutAll(user.id);
    await expect(auth.login(user.email, 'right')).rejects.toThrow('The email or password is incorrect');
    expect(tokens.rows.size).toBe(0);
    afterVerify = () => undefined;
    await auth.login(user.email, 'right');
    expect([...tokens.rows.values()].map((row) => row.status)).toEqual(['active']);
  });

  it('logout-all revokes every refresh token inside the transaction that bumps the version', async () => {
    await auth.login(user.email, 'right');
    await auth.logoutAll(user.id);
    expect(tokens.revokedInTx).toEqual([logoutAllTx]);
    expect([...tokens.rows.values()].map((row) => row.status)).toEqual(['revoked']);
  });

  it('never lets a rotated token outlive the family', async () => {
    const first = await auth.login(user.email, 'right');
    const [row] = [...tokens.rows.values()];
    row!.familyExpiresAt = new Date(Date.now() + 5_000);
    const next = await auth.refresh(first.refreshToken);
    expect(next.refreshExpiresIn).toBeLessThanOrEqual(5);
  });
});

describe('cleanUserAgent', () => {
  it('keeps what a session list can show: no control or bidi characters, at most 255 characters, null when nothing is left', () => {
    expect(cleanUserAgent('Mozilla/5.0 (X11; Linux x86_64)')).toBe('Mozilla/5.0 (X11; Linux x86_64)');
    expect(cleanUserAgent('Phone\u0007/1.0\u0085\u009b')).toBe('Phone/1.0');
    expect(cleanUserAgent('evil\u202egnp.exe\u2066x\u2069')).toBe('evilgnp.exex');
    expect(cleanUserAgent('a'.repeat(300))).toHaveLength(255);
    expect(cleanUserAgent(' \u0000 ')).toBeNull();
    expect(cleanUserAgent(undefined)).toBeNull();
  });
});
