import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { createHash, randomUUID } from 'node:crypto';
import { AuthUser, isAdmin } from '../../core/auth/auth-user';
import { assertOwnerOrAdmin } from '../../core/auth/owner-or-admin';
import { Tx, UnitOfWork } from '../../core/database/unit-of-work';
import { uuidv7 } from '../../core/database/uuid';
import { isDuplicateKeyError } from '../../core/errors/driver-errors';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../core/errors/app-error';
import {
  BalanceLimitError,
  CurrencyMismatchError,
  IdempotencyClaimLostError,
  IdempotencyKeyMismatchError,
  InsufficientFundsError,
  ReplayedError,
} from './accounts.errors';
import { AccountEvents, TransferCompletedData, TransferCompletedEvent } from './accounts.events';
import { AccountsRepository } from './accounts.repository';
import { toTransactionResponse, TransactionResponse } from './dto/transaction.response';
import { IdempotencyKey } from './idempotency-key.entity';
import { Claim, IdempotencyKeysRepository } from './idempotency-keys.repository';
import { LedgerEntry } from './ledger-entry.entity';
import { LedgerRepository } from './ledger.repository';
import { MAX_BALANCE } from './money';

export interface TransferInput {
  fromAccountId: string;
  toAccountId: string;
  amount: number;
}

export type TransferOutcome =
  { replayed: false; transaction: TransactionResponse } | { replayed: true; status: number; transaction: TransactionResponse };

const KEY_TTL_MS = 24 * 60 * 60 * 1000;
/** Beyond the longest unit of work: the gap between claim and transaction, a slow commit, clock skew between instances. */
const CLAIM_LEASE_MARGIN_MS = 10 * 1000;
/** Answers stored under a key: everything given once the body validated, except 409 and 5xx. */
const STORED_STATUSES = new Set([403, 404, 422]);
/** Accounts whose currency one process remembers (about 100 bytes each). */
const CURRENCY_MEMO_SIZE = 100_000;

/** The fast path's UPDATE found a check failing: rolled back, and the checked path runs instead. */
class ChecksFailed extends Error {}

/**
 * Transfers: both rows locked in id order, ownership, currency and funds checked, debit, credit
 * and ledger row in one transaction; optional `Idempotency-Key` so a retried request moves
 * money at most once.
 */
@Injectable()
export class TransfersService {
  /**
   * A pending claim older than this was abandoned (its holder crashed; its transaction rolled
   * back) and may be taken over. Longer than any unit of work can run before committing, so a
   * live holder is not taken over; if one ever is, the claim token fences it off anyway.
   */
  readonly claimLeaseMs: number;
  /** Account id (lower case) → currency (`currencyOf`). */
  private readonly currencies = new Map<string, string>();

  constructor(
    private readonly accounts: AccountsRepository,
    private readonly ledger: LedgerRepository,
    private readonly keys: IdempotencyKeysRepository,
    private readonly uow: UnitOfWork,
    private readonly events: EventEmitter2,
  ) {
    this.claimLeaseMs = uow.maxRunMs + CLAIM_LEASE_MARGIN_MS;
  }

  async transfer(actor: AuthUser, input: TransferInput, idempotencyKey?: string): Promise<TransferOutcome> {
    if (input.fromAccountId.toLowerCase() === input.toAccountId.toLowerCase()) {
      throw new ValidationError({ toAccountId: ['toAccountId must differ from fromAccountId'] });
    }
    // before the claim: what follows the claim is the unit of work (read once per account and process)
    const currency = this.uow.supportsRowLocks ? await this.commonCurrency(input) : null;
    if (idempotencyKey === undefined) return { replayed: false, transaction: await this.execute(actor, input, currency) };

    const requestHash = sha256(JSON.stringify([input.fromAccountId.toLowerCase(), input.toAccountId.toLowerCase(), input.amount]));
    const claimed = await this.claim(actor.id, sha256(idempotencyKey), requestHash);
    if ('replay' in claimed) return claimed.replay;
    const { claim } = claimed;
    try {
      const transaction = await this.execute(actor, input, currency, claim);
      return { replayed: false, transaction };
    } catch (error) {
      if (error instanceof IdempotencyClaimLostError) throw error;
      if (error instanceof AppError && STORED_STATUSES.has(error.status)) {
        const body = { error: { code: error.code, message: error.message, details: error.details } };
        // taken over meanwhile: the successor's answer is the key's, not ours
        if (!(await this.keys.complete(claim, error.status, body))) throw new IdempotencyClaimLostError();
      } else {
        await this.keys.release(claim); // 5xx and the like: the client may retry under the same key
      }
      throw error;
    }
  }

  /**
   * MySQL/MariaDB, both accounts known to share `currency`: the fast path first (`moveMoney`).
   * When its UPDATE finds a check failing (or an account gone), or on SQLite, the checked path
   * (`checkedTransfer`), which says which check failed.
   */
  private async execute(actor: AuthUser, input: TransferInput, currency: string | null, claim?: Claim): Promise<TransactionResponse> {
    if (currency !== null) {
      try {
        return await this.uow.run((tx) => this.moveMoney(tx, actor, input, currency, claim));
      } catch (error) {
        if (!(error instanceof ChecksFailed)) throw error;
      }
    }
    return this.checkedTransfer(actor, input, claim);
  }

  /**
   * The transfer in one conditional UPDATE: it locks both rows (InnoDB walks the primary key's
   * IN list in order, so two opposite transfers take them in one order, as `lockMany` does) and
   * moves the money only if every check holds, row by row: the source is the caller's (unless an
   * admin) and holds the amount, the destination stays within the limit, both are in `currency`.
   * Then the ledger row and its event. Four statements between BEGIN and COMMIT, none of them a
   * read, the locks held from the UPDATE to the COMMIT. Fewer than two rows changed: `ChecksFailed`
   * rolls it all back.
   */
  private async moveMoney(tx: Tx, actor: AuthUser, input: TransferInput, currency: string, claim?: Claim): Promise<TransactionResponse> {
    const now = new Date();
    const from = input.fromAccountId.toLowerCase();
    const to = input.toAccountId.toLowerCase();
    const moved = await this.accounts.moveIfAllowed(tx, {
      from,
      to,
      amount: input.amount,
      currency,
      ownerId: isAdmin(actor) ? null : actor.id,
      maxBalance: MAX_BALANCE,
      at: now,
    });
    if (!moved) throw new ChecksFailed();
    const entry: LedgerEntry = {
      id: uuidv7(),
      type: 'transfer',
      fromAccountId: from,
      toAccountId: to,
      amount: input.amount,
      currency,
      createdAt: now,
    };
    return this.record(tx, actor, entry, claim);
  }

  /** The ledger row, its event, the stored answer under the key: the end of either path. */
  private async record(tx: Tx, actor: AuthUser, entry: LedgerEntry, claim?: Claim): Promise<TransactionResponse> {
    await this.ledger.append(tx, entry);
    await tx.publish<TransferCompletedData>({
      type: AccountEvents.transferCompleted,
      subjectType: 'transaction',
      subjectId: entry.id,
      data: { fromAccountId: entry.fromAccountId!, toAccountId: entry.toAccountId, amount: entry.amount, currency: entry.currency },
    });
    const response = toTransactionResponse(entry);
    // the stored answer commits with the transfer, and only while this request still holds the
    // claim: if a retry took it over, everything above rolls back (no money moves twice)
    if (claim && !(await this.keys.complete(claim, 201, { data: response }, tx))) throw new IdempotencyClaimLostError();
    tx.afterCommit(() => this.events.emitAsync(TransferCompletedEvent.type, new TransferCompletedEvent(response, actor.id)));
    return response;
  }

  /**
   * The currency both accounts are in, or null when they differ or one does not exist (the
   * checked path says which). An account's currency never changes: read once per account and
   * process, without a lock.
   */
  private async commonCurrency(input: TransferInput): Promise<string | null> {
    const [from, to] = await Promise.all([this.currencyOf(input.fromAccountId), this.currencyOf(input.toAccountId)]);
    return from !== null && from === to ? from : null;
  }

  private async currencyOf(accountId: string): Promise<string | null> {
    const key = accountId.toLowerCase();
    const known = this.currencies.get(key);
    if (known !== undefined) return known;
    const currency = await this.accounts.currencyOf(key);
    if (currency === null) return null;
    if (this.currencies.size >= CURRENCY_MEMO_SIZE) this.currencies.clear(); // bounded: starts over when full
    this.currencies.set(key, currency);
    return currency;
  }

  /** Both rows locked and read, each check in the contract's order, then the update: every error told apart. */
  private checkedTransfer(actor: AuthUser, input: TransferInput, claim?: Claim): Promise<TransactionResponse> {
    return this.uow.run(async (tx) => {
      const locked = await this.accounts.lockMany(tx, [input.fromAccountId, input.toAccountId], this.uow.supportsRowLocks);
      const from = locked.get(input.fromAccountId);
      const to = locked.get(input.toAccountId);
      if (!from) throw new NotFoundError('Account', input.fromAccountId);
      if (!to) throw new NotFoundError('Account', input.toAccountId);
      assertOwnerOrAdmin(actor, from.ownerId, 'You may only move money out of your own accounts');
      if (from.currency !== to.currency) throw new CurrencyMismatchError(from.currency, to.currency);
      if (from.balance < input.amount) throw new InsufficientFundsError(from.id);
      if (to.balance + input.amount > MAX_BALANCE) throw new BalanceLimitError(to.id);

      const now = new Date();
      await this.accounts.addToBalances(
        tx,
        [
          { id: from.id, delta: -input.amount },
          { id: to.id, delta: input.amount },
        ],
        now,
      );
      const entry: LedgerEntry = {
        id: uuidv7(),
        type: 'transfer',
        fromAccountId: from.id,
        toAccountId: to.id,
        amount: input.amount,
        currency: from.currency,
        createdAt: now,
      };
      return this.record(tx, actor, entry, claim);
    });
  }

  /** Claims the key for this request, or answers from what is stored under it. */
  private async claim(callerId: string, keyHash: string, requestHash: string): Promise<{ claim: Claim } | { replay: TransferOutcome }> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = new Date();
      const token = randomUUID();
      const row: IdempotencyKey = {
        id: uuidv7(),
        callerId,
        keyHash,
        requestHash,
        status: 'pending',
        responseStatus: null,
        responseBody: null,
        claimToken: token,
        claimedAt: now,
        expiresAt: new Date(now.getTime() + KEY_TTL_MS),
      };
      try {
        await this.keys.create(row);
        return { claim: { id: row.id, token } };
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
      const existing = await this.keys.findByKey(callerId, keyHash);
      if (!existing) continue; // purged between our insert and read: try again
      if (existing.expiresAt <= now) {
        await this.keys.delete(existing.id);
        continue;
      }
      if (existing.requestHash !== requestHash) throw new IdempotencyKeyMismatchError();
      if (existing.status === 'pending') {
        if (existing.claimedAt.getTime() >= now.getTime() - this.claimLeaseMs) {
          throw new ConflictError('A request with this Idempotency-Key is still being processed; retry later');
        }
        if (await this.keys.takeOver(existing.id, new Date(now.getTime() - this.claimLeaseMs), now, token)) {
          return { claim: { id: existing.id, token } };
        }
        continue; // completed or taken over meanwhile: read it again
      }
      return { replay: this.replay(existing) };
    }
    throw new ConflictError('A request with this Idempotency-Key is still being processed; retry later');
  }

  private replay(stored: IdempotencyKey): TransferOutcome {
    const body = JSON.parse(stored.responseBody ?? '{}') as {
      data?: TransactionResponse;
      error?: { code: string; message: string; details?: Record<string, unknown> };
    };
    if (body.error) throw new ReplayedError(stored.responseStatus ?? 422, body.error.code, body.error.message, body.error.details);
    return { replayed: true, status: stored.responseStatus ?? 201, transaction: body.data! };
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
