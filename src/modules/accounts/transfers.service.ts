import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { createHash, randomUUID } from 'node:crypto';
import { AuthUser } from '../../core/auth/auth-user';
import { assertOwnerOrAdmin } from '../../core/auth/owner-or-admin';
import { UnitOfWork } from '../../core/database/unit-of-work';
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
    if (idempotencyKey === undefined) return { replayed: false, transaction: await this.execute(actor, input) };

    const requestHash = sha256(JSON.stringify([input.fromAccountId.toLowerCase(), input.toAccountId.toLowerCase(), input.amount]));
    const claimed = await this.claim(actor.id, sha256(idempotencyKey), requestHash);
    if ('replay' in claimed) return claimed.replay;
    const { claim } = claimed;
    try {
      const transaction = await this.execute(actor, input, claim);
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

  private execute(actor: AuthUser, input: TransferInput, claim?: Claim): Promise<TransactionResponse> {
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
      await this.ledger.append(tx, entry);
      await tx.publish<TransferCompletedData>({
        type: AccountEvents.transferCompleted,
        subjectType: 'transaction',
        subjectId: entry.id,
        data: { fromAccountId: from.id, toAccountId: to.id, amount: input.amount, currency: from.currency },
      });
      const response = toTransactionResponse(entry);
      // the stored answer commits with the transfer, and only while this request still holds the
      // claim: if a retry took it over, everything above rolls back (no money moves twice)
      if (claim && !(await this.keys.complete(claim, 201, { data: response }, tx))) throw new IdempotencyClaimLostError();
      tx.afterCommit(() => this.events.emitAsync(TransferCompletedEvent.type, new TransferCompletedEvent(response, actor.id)));
      return response;
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
