import type { UserRecord } from './dto/user.response';

/** Emitted after the change is committed. Listeners get the user without any secret. */
export class UserCreatedEvent {
  static readonly type = 'user.created';
  constructor(readonly user: UserRecord) {}
}

export class UserUpdatedEvent {
  static readonly type = 'user.updated';
  constructor(
    readonly user: UserRecord,
    readonly changed: string[],
  ) {}
}

export class UserDeletedEvent {
  static readonly type = 'user.deleted';
  constructor(readonly userId: string) {}
}
