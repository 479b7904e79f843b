/**
 * The domain events users publishes to the outbox (in the transaction of the change; `data`
 * never holds a secret). Subjects are the user.
 */
export const UserEvents = {
  registered: 'user.registered',
  created: 'user.created',
  updated: 'user.updated',
  rolesChanged: 'user.roles_changed',
  deleted: 'user.deleted',
} as const;

export const USER_EVENT_TYPES: readonly string[] = Object.values(UserEvents);

export interface UserCreatedData {
  roles: string[];
}
export interface UserUpdatedData {
  fields: string[];
}
export interface UserRolesChangedData {
  from: string[];
  to: string[];
}

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
