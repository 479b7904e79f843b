import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { createHash } from 'node:crypto';
import { AuthUser, isAdmin } from '../../core/auth/auth-user';
import { UnitOfWork } from '../../core/database/unit-of-work';
import { uuidv7 } from '../../core/database/uuid';
import { isDuplicateKeyError } from '../../core/errors/driver-errors';
import { AppError, ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../core/errors/app-error';
import { BalanceLimitError, CurrencyMismatchError, IdempotencyKeyMismatchError, InsufficientFundsError, ReplayedError } from './accounts.errors';
import { TransferCompletedEvent } from './accounts.events';
import { AccountsRepository } from './accounts.repository';
import { toTransactionResponse, TransactionResponse } from './dto/transaction.response';
import { IdempotencyKey } from './idempotency-key.entity';
import { IdempotencyKeysRepository } from './idempotency-keys.repository';
import { LedgerEntry } from './ledger-entry.entity';
import { LedgerRepository } from './ledger.repository';
import { MAX_BALANCE } from './money';

export interface TransferInput {
  fromAccountId: string;
  toAccountId: string;
  amount: number;
}

export type TransferOutcome =
  | { replayed: false; transaction: TransactionResponse }
  | { replayed: true; status: number; transaction: TransactionResponse };

const KEY_TTL_MS = 24 * 60 * 60 * 1000;
/** A pending claim older than this was abandoned by a crashed process (its transaction rolled back). */
const CLAIM_LEASE_MS = 60 * 1000;
/** Answers stored under a key: everything given once the body validated, except 409 and 5xx. */
const STORED_STATUSES = new Set([403, 404, 422]);

/**
 * Transfers: both rows locked in id order, ownership, currency and funds checked, debit, credit
 * and ledger row in one transaction; optional `Idempotency-Key` so a retried request moves
 * money at most once.
 */
@Injectable()
export class TransfersService {
  constructor(
    private readonly accounts: AccountsRepository,
    private readonly ledger: LedgerRepository,
    private readonly keys: IdempotencyKeysRepository,
    private readonly uow: UnitOfWork,
    private readonly events: EventEmitter2,
  ) {}

  async transfer(actor: AuthUser, input: TransferInput, idempotencyKey?: string): Promise<TransferOutcome> {
    if (input.fromAccountId.toLowerCase() === input.toAccountId.toLowerCase()) {
      throw new ValidationError({ toAccountId: ['toAccountId must differ from fromAccountId'] });
    }
    if (idempotencyKey === undefined) return { replayed: false, transaction: await this.execute(actor, input) };

    const requestHash = sha256(JSON.stringify([input.fromAccountId.toLowerCase(), input.toAccountId.toLowerCase(), input.amount]));
    const claim = await this.claim(actor.id, sha256(idempotencyKey), requestHash);
    if ('replay' in claim) return claim.replay;
    try {
      const transaction = await this.execute(actor, input, claim.id);
      return { replayed: false, transaction };
    } catch (error) {
      if (error instanceof AppError && STORED_STATUSES.has(error.status)) {
        await this.keys.complete(claim.id, error.status, { error: { code: error.code, message: error.message, details: error.details } });
      } else {
        await this.keys.delete(claim.id); // 5xx and the like: the client may retry under the same key
      }
      throw error;
    }
  }

  private execute(actor: AuthUser, input: TransferInput, claimId?: string): Promise<TransactionResponse> {
    return this.uow.run(async (tx) => {
      const locked = await this.accounts.lockMany(tx, [input.fromAccountId, input.toAccountId], this.uow.supportsRowLocks);
      const from = locked.get(input.fromAccountId);
      const to = locked.get(input.toAccountId);
      if (!from) throw new NotFoundError('Account', input.fromAccountId);
      if (!to) throw new NotFoundError('Account', input.toAccountId);
      if (from.ownerId !== actor.id && !isAdmin(actor)) throw new ForbiddenError('You may only move money out of your own accounts');
      if (from.currency !== to.currency) throw new CurrencyMismatchError(from.currency, to.currency);
      if (from.balance < input.amount) throw new InsufficientFundsError(from.id);
      if (to.balance + input.amount > MAX_BALANCE) throw new BalanceLimitError(to.id);

      const now = new Date();
      await this.accounts.addToBalance(tx, from.id, -input.amount, now);
      await this.accounts.addToBalance(tx, to.id, input.amount, now);
      const entry: LedgerEntry = {
        id: uuidv7(),
        type: 'transfer',
        fromAccountId: from.id,
        toAccountId: to.id,
        amount: input.amount,
        currency: from.currency,
        createdAt: now,
      };
      await this.ledger.append(tx, entry);
      const response = toTransactionResponse(entry);
      // the stored answer commits with the transfer: a replay can never disagree with the ledger
      if (claimId) await this.keys.complete(claimId, 201, { data: response }, tx);
      tx.afterCommit(() => this.events.emit(TransferCompletedEvent.type, new TransferCompletedEvent(response, actor.id)));
      return response;
    });
  }

  /** Claims the key for this request, or answers from what is stored under it. */
  private async claim(callerId: string, keyHash: string, requestHash: string): Promise<{ id: string } | { replay: TransferOutcome }> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = new Date();
      const row: IdempotencyKey = {
        id: uuidv7(),
        callerId,
        keyHash,
        requestHash,
        status: 'pending',
        responseStatus: null,
        responseBody: null,
        claimedAt: now,
        expiresAt: new Date(now.getTime() + KEY_TTL_MS),
      };
      try {
        await this.keys.create(row);
        return { id: row.id };
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
        if (await this.keys.takeOver(existing.id, new Date(now.getTime() - CLAIM_LEASE_MS), now)) return { id: existing.id };
        throw new ConflictError('A request with this Idempotency-Key is still being processed; retry later');
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
