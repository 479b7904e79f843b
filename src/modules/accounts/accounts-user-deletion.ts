import { Injectable, OnModuleInit } from '@nestjs/common';
import type { Tx } from '../../core/database/unit-of-work';
import { UserDeletionParticipant, UserDeletionParticipants } from '../../core/database/user-deletion';
import { AccountsService } from './accounts.service';

/**
 * Accounts' part in deleting a user, inside the deletion's transaction: 409 while the user owns
 * money, else their (empty) accounts go with them; their ledger rows stay. Registered with core,
 * so the users module does not know accounts exist.
 */
@Injectable()
export class AccountsUserDeletion implements UserDeletionParticipant, OnModuleInit {
  constructor(
    private readonly participants: UserDeletionParticipants,
    private readonly accounts: AccountsService,
  ) {}

  onModuleInit(): void {
    this.participants.register(this);
  }

  beforeUserDeleted(tx: Tx, userId: string): Promise<void> {
    return this.accounts.closeAllForOwner(tx, userId);
  }
}
