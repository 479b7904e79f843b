import { Injectable } from '@nestjs/common';
import { AuthUser, isAdmin } from '../../core/auth/auth-user';
import { assertOwnerOrAdmin } from '../../core/auth/owner-or-admin';
import { UnitOfWork, Tx } from '../../core/database/unit-of-work';
import { uuidv7 } from '../../core/database/uuid';
import { ConflictError, ForbiddenError, NotFoundError } from '../../core/errors/app-error';
import { KeyRing } from '../../core/crypto/key-ring';
import { CursorCodec } from '../../core/http/cursor';
import { CursorPage, OffsetPage, sliceOf } from '../../core/http/pagination';
import { assertCursorMode } from '../../core/http/pagination.query';
import { Account } from './account.entity';
import { BalanceLimitError } from './accounts.errors';
import { AccountCreatedData, AccountEvents, DepositData } from './accounts.events';
import { AccountsRepository } from './accounts.repository';
import { HistoryQuery, ListAccountsQuery } from './dto/account-requests.dto';
import { LedgerEntry } from './ledger-entry.entity';
import { LedgerRepository } from './ledger.repository';
import { MAX_BALANCE } from './money';

/** Accounts, deposits and history. Moving money between accounts is TransfersService's job. */
@Injectable()
export class AccountsService {
  private readonly cursors: CursorCodec;

  constructor(
    private readonly accounts: AccountsRepository,
    private readonly ledger: LedgerRepository,
    private readonly uow: UnitOfWork,
    keys: KeyRing,
  ) {
    this.cursors = new CursorCodec(keys.key('cursor:ledger'));
  }

  async create(owner: AuthUser, input: { name: string; currency: string }): Promise<Account> {
    const now = new Date();
    const account: Account = {
      id: uuidv7(),
      ownerId: owner.id,
      name: input.name,
      currency: input.currency,
      balance: 0,
      createdAt: now,
      updatedAt: now,
    };
    return this.uow.run(async (tx) => {
      await this.accounts.createInTx(tx, account);
      await tx.publish<AccountCreatedData>({
        type: AccountEvents.created,
        subjectType: 'account',
        subjectId: account.id,
        data: { ownerId: account.ownerId, currency: account.currency },
      });
      return account;
    });
  }

  async list(actor: AuthUser, query: ListAccountsQuery): Promise<OffsetPage<Account>> {
    let ownerId = query.ownerId;
    if (!isAdmin(actor)) {
      if (ownerId !== undefined && ownerId !== actor.id) throw new ForbiddenError('You may only list your own accounts');
      ownerId = actor.id;
    }
    return this.accounts.findPage({ where: { ownerId }, orderBy: 'id', page: query.page ?? 1, pageSize: query.pageSize ?? 20 });
  }

  async get(actor: AuthUser, id: string): Promise<Account> {
    const account = await this.accounts.findById(id);
    if (!account) throw new NotFoundError('Account', id);
    assertOwnerOrAdmin(actor, account.ownerId, 'You may only see your own accounts');
    return account;
  }

  /** Admin only (checked by the controller's role guard). */
  deposit(accountId: string, amount: number): Promise<LedgerEntry> {
    return this.uow.run(async (tx) => {
      const account = (await this.accounts.lockMany(tx, [accountId], this.uow.supportsRowLocks)).get(accountId);
      if (!account) throw new NotFoundError('Account', accountId);
      if (account.balance + amount > MAX_BALANCE) throw new BalanceLimitError(accountId);
      const now = new Date();
      await this.accounts.addToBalances(tx, [{ id: accountId, delta: amount }], now);
      const entry: LedgerEntry = {
        id: uuidv7(),
        type: 'deposit',
        fromAccountId: null,
        toAccountId: accountId,
        amount,
        currency: account.currency,
        createdAt: now,
      };
      await this.ledger.append(tx, entry);
      await tx.publish<DepositData>({
        type: AccountEvents.deposit,
        subjectType: 'transaction',
        subjectId: entry.id,
        data: { accountId, amount, currency: account.currency },
      });
      return entry;
    });
  }

  async history(actor: AuthUser, accountId: string, query: HistoryQuery): Promise<CursorPage<LedgerEntry>> {
    assertCursorMode(query, 'Transaction history is');
    await this.get(actor, accountId);
    const limit = query.limit ?? 20;
    const before = query.after ? this.cursors.decode(accountId, query.after).id : null;
    const rows = await this.ledger.history(accountId, before, limit + 1);
    return sliceOf(
      rows,
      limit,
      (row) => ({ value: null, id: row.id }),
      (position) => this.cursors.encode(accountId, position),
    );
  }

  async getTransfer(actor: AuthUser, id: string): Promise<LedgerEntry> {
    const entry = await this.ledger.findById(id);
    if (!entry || entry.type !== 'transfer') throw new NotFoundError('Transfer', id);
    const sides = [entry.toAccountId, ...(entry.fromAccountId ? [entry.fromAccountId] : [])];
    if (!isAdmin(actor) && !(await this.accounts.ownsAny(actor.id, sides))) {
      throw new ForbiddenError('You may only see transfers of your own accounts');
    }
    return entry;
  }

  /** For `GET /users?include=accounts`: every owner's accounts in one query. */
  async byOwners(ownerIds: string[]): Promise<Map<string, Account[]>> {
    const grouped = new Map<string, Account[]>(ownerIds.map((id) => [id, []]));
    for (const account of await this.accounts.findByOwners(ownerIds)) grouped.get(account.ownerId)?.push(account);
    return grouped;
  }

  /**
   * Inside the owner's deletion transaction: refuses (409) while any of their accounts holds
   * money, else deletes the empty accounts. The rows are locked, so no deposit slips in between.
   */
  async closeAllForOwner(tx: Tx, ownerId: string): Promise<void> {
    const owned = await this.accounts.lockByOwner(tx, ownerId, this.uow.supportsRowLocks);
    if (owned.some((account) => account.balance !== 0)) {
      throw new ConflictError('The user still owns money', { accounts: owned.filter((a) => a.balance !== 0).map((a) => a.id) });
    }
    await this.accounts.deleteByOwner(tx, ownerId);
  }
}
