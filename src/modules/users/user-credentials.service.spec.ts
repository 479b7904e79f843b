import { loadConfig } from '../../config/app-config';
import type { CacheAside } from '../../core/cache/cache-aside.service';
import type { Tx, UnitOfWork } from '../../core/database/unit-of-work';
import { NotFoundError, RateLimitedError, UnauthorizedError } from '../../core/errors/app-error';
import type { LoginFailureLimiter } from '../../core/throttling/login-failure.limiter';
import type { PasswordHasher } from './password-hasher';
import { UserCredentialsService } from './user-credentials.service';
import type { User } from './user.entity';
import type { UsersRepository } from './users.repository';

/** What happened, in order, across the fakes (transactions, writes, cache invalidations). */
let journal: string[];

type FakeTx = Tx & { id: number };

/** The users table in memory; each write journals the transaction it ran in. */
class FakeUsersRepository {
  readonly rows = new Map<string, User>();
  // copies, as rows read from a database are: a later write does not change what was read
  findById(id: string) {
    const row = this.rows.get(id);
    return Promise.resolve(row ? { ...row } : null);
  }
  findByEmail(email: string) {
    const row = [...this.rows.values()].find((u) => u.email === email);
    return Promise.resolve(row ? { ...row } : null);
  }
  /** `WHERE id = ? AND token_version = ?`, as the real one. */
  setPasswordInTx(tx: FakeTx, id: string, tokenVersion: number, passwordHash: string) {
    const row = this.rows.get(id);
    if (!row || row.tokenVersion !== tokenVersion) return Promise.resolve(false);
    journal.push(`password set and version bumped in tx ${tx.id}`);
    Object.assign(row, { passwordHash, tokenVersion: row.tokenVersion + 1 });
    return Promise.resolve(true);
  }
  bumpTokenVersion(id: string, _at: Date, tx?: FakeTx) {
    journal.push(`version bumped in tx ${tx?.id ?? 'none'}`);
    const row = this.rows.get(id);
    if (row) row.tokenVersion += 1;
    return Promise.resolve(Boolean(row));
  }
}

/** Failure slots per email, as `LoginFailureLimiter` holds them: taken before a check, given back or kept. */
class FakeLimiter {
  /** Slots held (failures counted), by email. */
  readonly held: string[] = [];
  /** Refuse the next `begin` with a 429, as the real one does when the failures are used up. */
  exhausted = false;
  begin(email: string) {
    if (this.exhausted) return Promise.reject(new RateLimitedError(42));
    journal.push(`slot taken for ${email}`);
    this.held.push(email);
    return Promise.resolve({
      release: () => {
        journal.push(`slot given back for ${email}`);
        this.held.splice(this.held.indexOf(email), 1);
        return Promise.resolve();
      },
    });
  }
}

/** Numbers each transaction and journals where it begins and commits. */
const fakeUnitOfWork = {
  transactions: 0,
  async run<T>(work: (tx: FakeTx) => Promise<T>): Promise<T> {
    const tx = { id: ++this.transactions } as FakeTx;
    journal.push(`begin tx ${tx.id}`);
    const result = await work(tx);
    journal.push(`commit tx ${tx.id}`);
    return result;
  },
};

describe('UserCredentialsService', () => {
  const hasher = {
    hash: (p: string) => Promise.resolve(`hashed:${p}`),
    verify: (h: string | null, p: string) => Promise.resolve(h === `hashed:${p}`),
  };
  let repo: FakeUsersRepository;
  let limiter: FakeLimiter;
  let credentials: UserCredentialsService;
  let user: User;
  const endSessions = (tx: Tx) => Promise.resolve(void journal.push(`sessions ended in tx ${(tx as FakeTx).id}`));

  beforeEach(() => {
    journal = [];
    repo = new FakeUsersRepository();
    limiter = new FakeLimiter();
    const now = new Date();
    user = {
      id: 'user-1',
      email: 'a@example.com',
      name: 'A',
      passwordHash: 'hashed:password-123',
      roles: ['user'],
      tokenVersion: 3,
      emailVerifiedAt: null,
      endedSessions: [],
      createdAt: now,
      updatedAt: now,
    };
    repo.rows.set(user.id, { ...user });
    const cache = { invalidate: (key: string) => Promise.resolve(void journal.push(`invalidate ${key}`)) };
    credentials = new UserCredentialsService(
      repo as unknown as UsersRepository,
      hasher as unknown as PasswordHasher,
      cache as unknown as CacheAside,
      fakeUnitOfWork as unknown as UnitOfWork,
      limiter as unknown as LoginFailureLimiter,
      loadConfig({}),
    );
  });

  afterEach(() => jest.restoreAllMocks());

  it('verifies credentials, running the hasher for unknown emails too; the record carries the version checked against', async () => {
    const verify = jest.spyOn(hasher, 'verify');
    expect(await credentials.verify(' A@example.com', 'password-123')).toMatchObject({ id: user.id, tokenVersion: 3 });
    expect(await credentials.verify('a@example.com', 'wrong')).toBeNull();
    expect(await credentials.verify('nobody@example.com', 'password-123')).toBeNull();
    expect(verify).toHaveBeenLastCalledWith(null, 'password-123');
    expect(JSON.stringify(await credentials.verify('a@example.com', 'password-123'))).not.toContain('hashed:');
  });

  it('changes the password only with the current one', async () => {
    await expect(credentials.changePassword(user.id, 'wrong', 'new-password-1', endSessions)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(journal).toEqual([`slot taken for ${user.email}`]);
    await credentials.changePassword(user.id, 'password-123', 'new-password-1', endSessions);
    expect(repo.rows.get(user.id)).toMatchObject({ passwordHash: 'hashed:new-password-1', tokenVersion: 4 });
  });

  // the user row first, as a login's conditional insert takes it: the two wait for each other instead of deadlocking
  it('a password change sets the hash and bumps the version, then ends the sessions, in one transaction; then invalidates the cache', async () => {
    await credentials.changePassword(user.id, 'password-123', 'new-password-1', endSessions);
    const tx = fakeUnitOfWork.transactions;
    expect(journal).toEqual([
      `slot taken for ${user.email}`,
      `slot given back for ${user.email}`,
      `begin tx ${tx}`,
      `password set and version bumped in tx ${tx}`,
      `sessions ended in tx ${tx}`,
      `commit tx ${tx}`,
      `invalidate user:${user.id}`,
    ]);
  });

  it('ending every session bumps the version, then ends the sessions, in one transaction; then invalidates the cache', async () => {
    await credentials.endAllSessions(user.id, endSessions);
    const tx = fakeUnitOfWork.transactions;
    expect(journal).toEqual([
      `begin tx ${tx}`,
      `version bumped in tx ${tx}`,
      `sessions ended in tx ${tx}`,
      `commit tx ${tx}`,
      `invalidate user:${user.id}`,
    ]);
    expect(repo.rows.get(user.id)!.tokenVersion).toBe(4);
  });

  it('a user deleted while the new hash is computed: 404, and no sessions to end are asked of the caller', async () => {
    jest.spyOn(hasher, 'hash').mockImplementationOnce((password) => {
      repo.rows.delete(user.id);
      return Promise.resolve(`hashed:${password}`);
    });
    await expect(credentials.changePassword(user.id, 'password-123', 'new-password-1', endSessions)).rejects.toBeInstanceOf(NotFoundError);
    await credentials.endAllSessions(user.id, endSessions);
    expect(journal.filter((line) => line.startsWith('sessions ended'))).toEqual([]);
  });

  describe('a change whose verified current password stops being current before it is stored', () => {
    /** While the new hash is computed, `meanwhile` commits (another change, a logout-all). */
    const during = (meanwhile: () => void) =>
      jest.spyOn(hasher, 'hash').mockImplementationOnce((password) => {
        meanwhile();
        return Promise.resolve(`hashed:${password}`);
      });

    it('another password change committed meanwhile: 401 as a wrong current password; the newer password stands, no sessions ended', async () => {
      during(() => Object.assign(repo.rows.get(user.id)!, { passwordHash: 'hashed:victims-new-password', tokenVersion: 4 }));
      const refused = credentials.changePassword(user.id, 'password-123', 'attackers-password', endSessions);
      await expect(refused).rejects.toBeInstanceOf(UnauthorizedError);
      await expect(refused).rejects.toMatchObject({
        message: 'The current password is incorrect',
        details: { currentPassword: ['currentPassword is incorrect'] },
      });
      expect(repo.rows.get(user.id)).toMatchObject({ passwordHash: 'hashed:victims-new-password', tokenVersion: 4 });
      expect(journal.filter((line) => !line.startsWith('slot'))).toEqual([
        `begin tx ${fakeUnitOfWork.transactions}`,
        `commit tx ${fakeUnitOfWork.transactions}`,
      ]);
      // the password checked was right when checked: not a failure
      expect(limiter.held).toEqual([]);
    });

    it('a logout-all committed meanwhile (the version moved, the hash did not): 401, the password unchanged', async () => {
      during(() => void (repo.rows.get(user.id)!.tokenVersion += 1));
      await expect(credentials.changePassword(user.id, 'password-123', 'new-password-1', endSessions)).rejects.toBeInstanceOf(
        UnauthorizedError,
      );
      expect(repo.rows.get(user.id)).toMatchObject({ passwordHash: 'hashed:password-123', tokenVersion: 4 });
      expect(journal.filter((line) => line.startsWith('sessions ended'))).toEqual([]);
    });
  });

  describe('failure slots per email: failed logins and wrong current passwords share them', () => {
    it('a login: a wrong password or an unknown email keeps its slot, a right one gives it back', async () => {
      await credentials.verify(' A@example.com', 'password-123');
      expect(limiter.held).toEqual([]);
      await credentials.verify('A@Example.com', 'wrong');
      await credentials.verify('nobody@example.com', 'password-123');
      // keyed by the canonical email
      expect(limiter.held).toEqual(['a@example.com', 'nobody@example.com']);
    });

    it("a password change: a wrong current password keeps a slot of the account's email, a right one gives it back", async () => {
      repo.rows.get(user.id)!.email = 'ada@example.com';
      await expect(credentials.changePassword(user.id, 'wrong', 'new-password-1', endSessions)).rejects.toBeInstanceOf(UnauthorizedError);
      expect(limiter.held).toEqual(['ada@example.com']);
      await credentials.changePassword(user.id, 'password-123', 'new-password-1', endSessions);
      expect(limiter.held).toEqual(['ada@example.com']);
      // the failure counts for the login as well: one budget per email
      await credentials.verify('ada@example.com', 'wrong');
      expect(limiter.held).toEqual(['ada@example.com', 'ada@example.com']);
    });

    it('the slot is taken before the password is checked: once the failures are used up, 429 and nothing is checked or written', async () => {
      const verify = jest.spyOn(hasher, 'verify');
      limiter.exhausted = true;
      await expect(credentials.changePassword(user.id, 'password-123', 'new-password-1', endSessions)).rejects.toBeInstanceOf(
        RateLimitedError,
      );
      await expect(credentials.verify(user.email, 'password-123')).rejects.toBeInstanceOf(RateLimitedError);
      expect(verify).not.toHaveBeenCalled();
      expect(journal).toEqual([]);
      expect(repo.rows.get(user.id)).toMatchObject({ passwordHash: 'hashed:password-123', tokenVersion: 3 });
    });

    it('a check that failed (the database is down) gives its slot back: nothing was checked', async () => {
      jest.spyOn(repo, 'findByEmail').mockRejectedValueOnce(new Error('database down'));
      await expect(credentials.verify(user.email, 'wrong')).rejects.toThrow('database down');
      jest.spyOn(hasher, 'verify').mockRejectedValueOnce(new Error('thread pool gone'));
      await expect(credentials.changePassword(user.id, 'wrong', 'new-password-1', endSessions)).rejects.toThrow('thread pool gone');
      expect(limiter.held).toEqual([]);
    });
  });
});
