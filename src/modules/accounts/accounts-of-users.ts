import { Injectable } from '@nestjs/common';
import type { Tx } from '../../core/database/unit-of-work';
import { UserDeletionParticipant, UserDeletionParticipants } from '../../core/database/user-deletion';
import { Embeds } from '../../core/http/embeds';
import { AccountsService } from './accounts.service';
import { AccountResponse, toAccountResponse } from './dto/account.response';

/**
 * What accounts adds to users, registered with core so the users module does not know accounts
 * exist:
 * - deleting a user: 409 while the user owns money, else their (empty) accounts go with them,
 *   inside the deletion's transaction; their ledger rows stay;
 * - `GET /users?include=accounts`: each user's accounts, one query for the whole page.
 */
@Injectable()
export class AccountsOfUsers implements UserDeletionParticipant {
  // registered on construction, not in onModuleInit: the OpenAPI document (which lists the embed)
  // is built before the app's init
  constructor(
    participants: UserDeletionParticipants,
    embeds: Embeds,
    private readonly accounts: AccountsService,
  ) {
    participants.register(this);
    embeds.register({
      into: 'users',
      name: 'accounts',
      schema: AccountResponse,
      description: "each user's accounts (one extra query for the whole page)",
      load: async (ownerIds) => {
        const owned = await this.accounts.byOwners([...ownerIds]);
        return new Map([...owned].map(([ownerId, accounts]) => [ownerId, accounts.map(toAccountResponse)]));
      },
    });
  }

  beforeUserDeleted(tx: Tx, userId: string): Promise<void> {
    return this.accounts.closeAllForOwner(tx, userId);
  }
}
