import type { EventEmitter2 } from '@nestjs/event-emitter';
import { loadConfig } from '../../config/app-config';
import { UserDeletionParticipants } from '../../core/database/user-deletion';
import { Embeds } from '../../core/http/embeds';
import type { MailQueue } from '../../core/mail/mail-queue';
import type { EmailRequestLimiter } from '../../core/throttling/email-request.limiter';
import type { UserCredentialsService } from './user-credentials.service';
import { KeyRing } from '../../core/crypto/key-ring';
import type { CacheAside } from '../../core/cache/cache-aside.service';
import type { UnitOfWork } from '../../core/database/unit-of-work';
import { FindManyOptions, Repository } from '../../core/database/repository.port';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, UnauthorizedError } from '../../core/errors/app-error';
import type { PasswordHasher } from './password-hasher';
import { User } from './user.entity';
import { AdminBootstrapService } from './admin-bootstrap.service';
import { EmailTakenError } from './users.errors';
import type { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

/** The repository port in memory: the service's rules, without a database. */
class FakeUsersRepository implements Repository<User> {
  readonly rows = new Map<string, User>();
  failNextCreateWithDuplicate = false;

  findById(id: string) {
    return Promise.resolve(this.rows.get(id) ?? null);
  }
  findByEmail(email: string) {
    return Promise.resolve([...this.rows.values()].find((u) => u.email === email) ?? null);
  }
  findMany(options: FindManyOptions<User> = {}) {
    return Promise.resolve([...this.rows.values()].slice(options.offset ?? 0, (options.offset ?? 0) + (options.limit ?? 1000)));
  }
  count() {
    return Promise.resolve(this.rows.size);
  }
  create(user: User) {
    if (this.failNextCreateWithDuplicate) {
      this.failNextCreateWithDuplicate = false;
      return Promise.reject(Object.assign(new Error('dup'), { code: 'ER_DUP_ENTRY', errno: 1062 }));
    }
    this.rows.set(user.id, { ...user });
    return Promise.resolve(user);
  }
  update(id: string, patch: Partial<User>) {
    const row = this.rows.get(id);
    if (!row) return Promise.resolve(null);
    Object.assign(row, patch);
    return Promise.resolve({ ...row });
  }
  delete(id: string) {
    return Promise.resolve(this.rows.delete(id));
  }
  createInTx(_tx: unknown, user: User) {
    return this.create(user).then(() => undefined);
  }
  updateInTx(_tx: unknown, id: string, patch: Partial<User>) {
    return this.update(id, patch).then(Boolean);
  }
  deleteInTx(_tx: unknown, id: string) {
    return this.delete(id);
  }
  bumpTokenVersion(id: string) {
    const row = this.rows.get(id);
    if (row) row.tokenVersion += 1;
    return Promise.resolve(Boolean(row));
  }
}

/** Runs the work with a transaction handle, as the real one does inside a database transaction. */
const fakeUnitOfWork = {
  run: <T>(work: (tx: object) => Promise<T>): Promise<T> => work({ publish: () => Promise.resolve() }),
};

describe('UsersService', () => {
  let repo: FakeUsersRepository;
  let events: { emit: jest.Mock };
  let invalidated: string[];
  let accounts: { closeAllForOwner: jest.Mock };
  let deletion: UserDeletionParticipants;
  let credentials: { confirmPassword: jest.Mock };
  /** The mails queued, as `MailQueue.enqueue` would store them in the transaction. */
  let mail: { queued: Array<{ kind: string; to: string; userId?: string | null }>; enqueue: jest.Mock };
  let service: UsersService;
  const hasher = {
    hash: (p: string) => Promise.resolve(`hashed:${p}`),
    verify: (h: string | null, p: string) => Promise.resolve(h === `hashed:${p}`),
  };
  const admin = { id: 'admin-id', roles: ['admin', 'user'] as const };

  beforeEach(() => {
    repo = new FakeUsersRepository();
    events = { emit: jest.fn() };
    invalidated = [];
    accounts = { closeAllForOwner: jest.fn().mockResolvedValue(undefined) };
    // a module taking part in deletions, as accounts registers itself (AccountsOfUsers)
    deletion = new UserDeletionParticipants();
    // the caller's password, confirmed for an own email change: right when it is 'password-123'
    credentials = {
      confirmPassword: jest.fn((_id: string, password: string) =>
        password === 'password-123' ? Promise.resolve() : Promise.reject(new UnauthorizedError('The current password is incorrect')),
      ),
    };
    const queued: Array<{ kind: string; to: string; userId?: string | null }> = [];
    mail = { queued, enqueue: jest.fn((_tx: unknown, request: (typeof queued)[number]) => Promise.resolve(void queued.push(request))) };
    deletion.register({ beforeUserDeleted: (tx, id) => accounts.closeAllForOwner(tx, id) as Promise<void> });
    const cache = {
      get: <T>(_name: string, _key: string, load: () => Promise<T>) => load(),
      invalidate: (key: string) => {
        invalidated.push(key);
        return Promise.resolve();
      },
    };
    service = new UsersService(
      repo as unknown as UsersRepository,
      hasher as unknown as PasswordHasher,
      cache as unknown as CacheAside,
      events as unknown as EventEmitter2,
      new Embeds(),
      fakeUnitOfWork as unknown as UnitOfWork,
      deletion,
      mail as unknown as MailQueue,
      credentials as unknown as UserCredentialsService,
      { count: () => Promise.resolve() } as unknown as EmailRequestLimiter,
      new KeyRing(loadConfig({})),
    );
  });

  const create = (email = 'a@example.com', roles?: Array<'user' | 'admin'>) =>
    service.create({ email, password: 'password-123', name: 'A', roles });

  it('creates a user with role user, a hash, and emits user.created without the hash', async () => {
    const user = await create();
    expect(user.roles).toEqual(['user']);
    expect(repo.rows.get(user.id)!.passwordHash).toBe('hashed:password-123');
    expect(events.emit).toHaveBeenCalledWith('user.created', expect.objectContaining({ user }));
    expect(JSON.stringify(events.emit.mock.calls)).not.toContain('hashed:');
  });

  it('always keeps the user role, sorted and unique', async () => {
    expect((await create('b@example.com', ['admin', 'admin'])).roles).toEqual(['admin', 'user']);
  });

  it('refuses a taken email, and turns a lost race on the unique index into the same 409', async () => {
    await create();
    await expect(create()).rejects.toBeInstanceOf(EmailTakenError);
    repo.failNextCreateWithDuplicate = true;
    await expect(create('race@example.com')).rejects.toBeInstanceOf(EmailTakenError);
  });

  it('lets only the user or an admin read or update a user', async () => {
    const user = await create();
    const stranger = { id: 'someone-else', roles: ['user' as const] };
    await expect(service.get(stranger, user.id)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(service.update(stranger, user.id, { name: 'x' })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(service.get({ id: user.id, roles: ['user'] }, user.id)).resolves.toMatchObject({ id: user.id });
  });

  it("changing one's own email needs the current password; an admin changing another's does not; the new address is mailed and unverified", async () => {
    const user = await create();
    const self = { id: user.id, roles: ['user' as const] };
    await expect(service.update(self, user.id, { email: 'b@example.com' })).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { currentPassword: [expect.any(String)] },
    });
    await expect(service.update(self, user.id, { email: 'b@example.com', currentPassword: 'wrong' })).rejects.toBeInstanceOf(
      UnauthorizedError,
    );
    expect(repo.rows.get(user.id)!.email).toBe('a@example.com');
    // a name change needs no password
    await expect(service.update(self, user.id, { name: 'B' })).resolves.toMatchObject({ name: 'B' });

    mail.queued.length = 0;
    await expect(service.update(self, user.id, { email: 'b@example.com', currentPassword: 'password-123' })).resolves.toMatchObject({
      email: 'b@example.com',
      emailVerifiedAt: null,
    });
    await expect(service.update({ id: 'admin-id', roles: ['admin', 'user'] }, user.id, { email: 'c@example.com' })).resolves.toMatchObject({
      email: 'c@example.com',
    });
    expect(credentials.confirmPassword).toHaveBeenCalledTimes(2); // the admin's change asked for none
    expect(mail.queued).toEqual([
      { kind: 'email-verification', to: 'b@example.com', userId: user.id },
      { kind: 'email-verification', to: 'c@example.com', userId: user.id },
    ]);
  });

  it('lets only an admin change roles; a role change revokes access tokens and invalidates the cache', async () => {
    const user = await create();
    await expect(service.update({ id: user.id, roles: ['user'] }, user.id, { roles: ['admin'] })).rejects.toBeInstanceOf(ForbiddenError);
    const updated = await service.update({ ...admin, roles: [...admin.roles] }, user.id, { roles: ['admin'] });
    expect(updated.roles).toEqual(['admin', 'user']);
    expect(updated.tokenVersion).toBe(1);
    expect(invalidated).toContain(`user:${user.id}`);
  });

  it('an update that changes nothing writes nothing', async () => {
    const user = await create();
    await service.update({ id: user.id, roles: ['user'] }, user.id, { name: 'A' });
    expect(events.emit).not.toHaveBeenCalledWith('user.updated', expect.anything());
  });

  it('404s unknown users on read, update and delete', async () => {
    const id = '01935f4e-0000-7000-8000-000000000000';
    await expect(service.findById(id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.update({ ...admin, roles: [...admin.roles] }, id, { name: 'x' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.remove(id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses to mix offset and cursor parameters', async () => {
    await expect(service.list({ page: 1, limit: 5 })).rejects.toBeInstanceOf(BadRequestError);
  });

  const bootstrap = () => new AdminBootstrapService(service, repo as unknown as UsersRepository, hasher as unknown as PasswordHasher);

  it('ensureAdmin is idempotent', async () => {
    await expect(bootstrap().ensureAdmin('root@example.com', 'password-123')).resolves.toBe('created');
    await expect(bootstrap().ensureAdmin(' ROOT@example.com ', 'password-123')).resolves.toBe('present');
    expect([...repo.rows.values()].filter((u) => u.email === 'root@example.com')).toHaveLength(1);
  });

  it('ensureAdmin promotes an existing account only when ADMIN_PASSWORD is its password', async () => {
    const squatter = await create('squatted@example.com');
    await expect(bootstrap().ensureAdmin('squatted@example.com', 'operator-password')).resolves.toBe('refused');
    expect(repo.rows.get(squatter.id)).toMatchObject({ roles: ['user'], tokenVersion: 0 });

    const owner = await create('owner@example.com');
    await expect(bootstrap().ensureAdmin('owner@example.com', 'password-123')).resolves.toBe('promoted');
    expect(repo.rows.get(owner.id)).toMatchObject({ roles: ['admin', 'user'], tokenVersion: 1 });
    expect(invalidated).toContain(`user:${owner.id}`);
  });

  it('refuses to delete a user while a deletion participant refuses (accounts: owns money), and deletes nothing', async () => {
    const user = await create();
    accounts.closeAllForOwner.mockRejectedValueOnce(new ConflictError('The user still owns money'));
    await expect(service.remove(user.id)).rejects.toBeInstanceOf(ConflictError);
    expect(repo.rows.has(user.id)).toBe(true);
    await service.remove(user.id);
    expect(repo.rows.has(user.id)).toBe(false);
  });
});
