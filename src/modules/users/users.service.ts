import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Actor, isAdmin, Role } from '../../core/auth/auth-user';
import { assertOwnerOrAdmin } from '../../core/auth/owner-or-admin';
import { canonicalEmail } from '../../core/auth/canonical-email';
import { CacheAside } from '../../core/cache/cache-aside.service';
import { isDuplicateKeyError } from '../../core/errors/driver-errors';
import { Tx, UnitOfWork } from '../../core/database/unit-of-work';
import { UserDeletionParticipants } from '../../core/database/user-deletion';
import { Embeds } from '../../core/http/embeds';
import { MailQueue } from '../../core/mail/mail-queue';
import { uuidv7 } from '../../core/database/uuid';
import { BadRequestError, ForbiddenError, NotFoundError, ValidationError } from '../../core/errors/app-error';
import { EmailRequestLimiter } from '../../core/throttling/email-request.limiter';
import { KeyRing } from '../../core/crypto/key-ring';
import { CursorCodec } from '../../core/http/cursor';
import { CursorPage, OffsetPage } from '../../core/http/pagination';
import { ListUsersQuery } from './dto/list-users.query';
import { toUserRecord, UserRecord, UserView } from './dto/user.response';
import { PasswordHasher } from './password-hasher';
import { userCacheKey, USER_CACHE } from './user-cache';
import { rolesFilter, User } from './user.entity';
import { EmailTakenError } from './users.errors';
import {
  UserCreatedData,
  UserCreatedEvent,
  UserDeletedEvent,
  UserEvents,
  UserRolesChangedData,
  UserUpdatedData,
  UserUpdatedEvent,
} from './users.events';
import { UserCredentialsService } from './user-credentials.service';
import { UserMails } from './users.mails';
import { UsersRepository } from './users.repository';

export interface NewUser {
  email: string;
  password: string;
  name: string;
  roles?: Role[];
}

export interface UserPatch {
  name?: string;
  email?: string;
  roles?: Role[];
  /** Required to change one's own email (`UserCredentialsService.confirmPassword`). */
  currentPassword?: string;
}

/** Users: registration, profiles, lists, deletion. Passwords and sessions: `UserCredentialsService`. */
@Injectable()
export class UsersService {
  private readonly cursors: CursorCodec;

  constructor(
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
    private readonly cache: CacheAside,
    private readonly events: EventEmitter2,
    private readonly embeds: Embeds,
    private readonly uow: UnitOfWork,
    private readonly deletion: UserDeletionParticipants,
    private readonly mail: MailQueue,
    private readonly credentials: UserCredentialsService,
    private readonly mailLimiter: EmailRequestLimiter,
    keys: KeyRing,
  ) {
    this.cursors = new CursorCodec(keys.key('cursor:users'));
  }

  /** `kind`: the event it publishes, `user.registered` (self-service) or `user.created` (by an admin, the bootstrap). */
  async create(input: NewUser, kind: 'registered' | 'created' = 'created'): Promise<UserRecord> {
    const email = canonicalEmail(input.email);
    if (await this.users.findByEmail(email)) throw new EmailTakenError();
    const now = new Date();
    const user: User = {
      id: uuidv7(),
      email,
      name: input.name,
      passwordHash: await this.hasher.hash(input.password),
      roles: normaliseRoles(input.roles ?? ['user']),
      tokenVersion: 0,
      emailVerifiedAt: null,
      endedSessions: [],
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.uow.run(async (tx) => {
        await this.users.createInTx(tx, user);
        await tx.publish<UserCreatedData | Record<string, never>>({
          type: kind === 'registered' ? UserEvents.registered : UserEvents.created,
          subjectType: 'user',
          subjectId: user.id,
          data: kind === 'registered' ? {} : { roles: user.roles },
        });
        await this.mail.enqueue(tx, { kind: UserMails.emailVerification, to: email, userId: user.id });
      });
    } catch (error) {
      // two registrations raced past the check: the unique index decides
      if (isDuplicateKeyError(error)) throw new EmailTakenError();
      throw error;
    }
    const record = toUserRecord(user);
    this.events.emit(UserCreatedEvent.type, new UserCreatedEvent(record));
    return record;
  }

  /** The id of the account holding this email (canonical form), or null; in `tx` when given (a mail composer's transaction). */
  async findIdByEmail(email: string, tx?: Tx): Promise<string | null> {
    return (await this.users.findByEmail(canonicalEmail(email), tx))?.id ?? null;
  }

  /**
   * The user as stored now, read in `tx` (no cache, no second connection): for work that runs in
   * a transaction of its own, such as a mail composer.
   */
  async findInTx(tx: Tx, id: string): Promise<UserRecord | null> {
    const user = await this.users.findByIdInTx(tx, id);
    return user ? toUserRecord(user) : null;
  }

  /** A user as `actor` may see it: themselves, or anyone for an admin. */
  async get(actor: Actor, id: string): Promise<UserRecord> {
    assertOwnerOrAdmin(actor, id, 'You may only access your own user');
    return this.findById(id);
  }

  /** Served from the cache when warm. */
  async findById(id: string): Promise<UserRecord> {
    const user = await this.findCached(id);
    if (!user) throw new NotFoundError('User', id);
    return user;
  }

  /** The user as the access-token check needs it, or null when deleted: one cache read when warm. */
  findCached(id: string): Promise<UserRecord | null> {
    return this.cache.get(USER_CACHE, userCacheKey(id), async () => {
      const user = await this.users.findById(id);
      return user ? toUserRecord(user) : null;
    });
  }

  async list(query: ListUsersQuery): Promise<OffsetPage<UserView> | CursorPage<UserView>> {
    const page = await this.listRecords(query);
    // what other modules embed (include=accounts): one query for the whole page, never one per user
    const embedded = await this.embeds.load(
      'users',
      query.include,
      page.items.map((user) => user.id),
    );
    if (!embedded) return page;
    return page.map((user): UserView => ({ ...user, embedded: embedded.get(user.id) }));
  }

  private async listRecords(query: ListUsersQuery): Promise<OffsetPage<UserRecord> | CursorPage<UserRecord>> {
    const cursorMode = query.limit !== undefined || query.after !== undefined;
    if (cursorMode && (query.page !== undefined || query.pageSize !== undefined)) {
      throw new BadRequestError('Use either page/pageSize (offset mode) or limit/after (cursor mode), not both');
    }
    const email = query.email === undefined ? undefined : canonicalEmail(query.email);
    const where = { email, roles: query.role ? rolesFilter(query.role) : undefined };
    const orderBy = query.orderBy ?? 'createdAt';
    const orderDir = query.orderDir ?? 'asc';

    if (!cursorMode) {
      const page = await this.users.findPage({ where, orderBy, orderDir, page: query.page ?? 1, pageSize: query.pageSize ?? 20 });
      return page.map(toUserRecord);
    }

    const scope = JSON.stringify([orderBy, orderDir, email ?? null, query.role ?? null]);
    const after = query.after ? this.cursors.decode(scope, query.after) : undefined;
    if (after && orderBy === 'createdAt') after.value = new Date(String(after.value));
    const slice = await this.users.findSlice({ where, orderBy, orderDir, limit: query.limit ?? 20, after }, (position) =>
      this.cursors.encode(scope, position),
    );
    return slice.map(toUserRecord);
  }

  async update(actor: Actor, id: string, patch: UserPatch): Promise<UserRecord> {
    assertOwnerOrAdmin(actor, id, 'You may only access your own user');
    if (patch.roles !== undefined && !isAdmin(actor)) throw new ForbiddenError('Only an admin may change roles');
    const current = await this.users.findById(id);
    if (!current) throw new NotFoundError('User', id);

    const changes: Partial<User> = {};
    if (patch.name !== undefined && patch.name !== current.name) changes.name = patch.name;
    const email = patch.email === undefined ? undefined : canonicalEmail(patch.email);
    if (email !== undefined && email !== current.email) {
      if (actor.id === id) {
        if (patch.currentPassword === undefined) {
          throw new ValidationError({ currentPassword: ['currentPassword is required to change your email'] });
        }
        await this.credentials.confirmPassword(id, patch.currentPassword);
      }
      const owner = await this.users.findByEmail(email);
      if (owner && owner.id !== id) throw new EmailTakenError();
      // the new address is mailed a link: it counts against that address's limit, as a resend does
      await this.mailLimiter.count('email-verification', email);
      changes.email = email;
      // the new address is unproven until its own link is followed
      changes.emailVerifiedAt = null;
    }
    const roles = patch.roles === undefined ? undefined : normaliseRoles(patch.roles);
    const rolesChanged = roles !== undefined && roles.join() !== [...current.roles].sort().join();
    if (rolesChanged) changes.roles = roles;
    if (Object.keys(changes).length === 0) return toUserRecord(current);

    const at = new Date();
    changes.updatedAt = at;
    const fields = Object.keys(changes).filter((k) => k !== 'updatedAt' && k !== 'emailVerifiedAt');
    let updated: User | null;
    try {
      const found = await this.uow.run(async (tx) => {
        if (!(await this.users.updateInTx(tx, id, changes))) return false;
        // existing access tokens carry the old roles: end them
        if (rolesChanged) await this.users.bumpTokenVersion(id, at, tx);
        if (changes.email !== undefined) await this.mail.enqueue(tx, { kind: UserMails.emailVerification, to: changes.email, userId: id });
        await tx.publish<UserUpdatedData>({ type: UserEvents.updated, subjectType: 'user', subjectId: id, data: { fields } });
        if (rolesChanged) {
          await tx.publish<UserRolesChangedData>({
            type: UserEvents.rolesChanged,
            subjectType: 'user',
            subjectId: id,
            data: { from: [...current.roles].sort(), to: roles ?? [] },
          });
        }
        return true;
      });
      updated = found ? await this.users.findById(id) : null;
    } catch (error) {
      if (isDuplicateKeyError(error)) throw new EmailTakenError();
      throw error;
    }
    await this.cache.invalidate(userCacheKey(id));
    if (!updated) throw new NotFoundError('User', id);
    const record = toUserRecord(updated);
    this.events.emit(UserUpdatedEvent.type, new UserUpdatedEvent(record, fields));
    return record;
  }

  /**
   * Every module holding the user's data takes part first, in the same transaction
   * (`UserDeletionParticipants`: accounts answers 409 while the user owns money).
   */
  async remove(id: string): Promise<void> {
    const deleted = await this.uow.run(async (tx) => {
      await this.deletion.beforeUserDeleted(tx, id);
      if (!(await this.users.deleteInTx(tx, id))) return false;
      await tx.publish({ type: UserEvents.deleted, subjectType: 'user', subjectId: id });
      return true;
    });
    await this.cache.invalidate(userCacheKey(id));
    if (!deleted) throw new NotFoundError('User', id);
    this.events.emit(UserDeletedEvent.type, new UserDeletedEvent(id));
  }
}

/** Every user has `user`; roles are kept sorted and unique. */
function normaliseRoles(roles: Role[]): Role[] {
  return [...new Set<Role>(['user', ...roles])].sort();
}
