import { Injectable } from '@nestjs/common';
import type { Tx } from './unit-of-work';

/**
 * A module's part in deleting a user, run inside the deletion's transaction before the user row
 * goes: refuse with an `AppError` (409 while the user owns money, say), or delete what belongs to
 * the user, with `tx`. The users module knows no other module: each one that owns data keyed by
 * a user registers itself here (`UserDeletionParticipants.register`, from a provider).
 */
export interface UserDeletionParticipant {
  beforeUserDeleted(tx: Tx, userId: string): Promise<void>;
}

/** The registered participants, called in registration order. */
@Injectable()
export class UserDeletionParticipants {
  private readonly participants: UserDeletionParticipant[] = [];

  register(participant: UserDeletionParticipant): void {
    this.participants.push(participant);
  }

  async beforeUserDeleted(tx: Tx, userId: string): Promise<void> {
    for (const participant of this.participants) await participant.beforeUserDeleted(tx, userId);
  }
}
