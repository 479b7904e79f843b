import type { TransactionResponse } from './dto/transaction.response';

/** The domain events accounts publishes to the outbox, in the transaction that moves the money. */
export const AccountEvents = {
  created: 'account.created',
  deposit: 'account.deposit',
  transferCompleted: 'transfer.completed',
} as const;

export const ACCOUNT_EVENT_TYPES: readonly string[] = Object.values(AccountEvents);

/** `account.created`; subject: the account. */
export interface AccountCreatedData {
  ownerId: string;
  currency: string;
}
/** `account.deposit`; subject: the ledger transaction. */
export interface DepositData {
  accountId: string;
  amount: number;
  currency: string;
}
/** `transfer.completed`; subject: the ledger transaction. */
export interface TransferCompletedData {
  fromAccountId: string;
  toAccountId: string;
  amount: number;
  currency: string;
}

/** Emitted after a transfer has committed. */
export class TransferCompletedEvent {
  static readonly type = 'transfer.completed';
  constructor(
    readonly transaction: TransactionResponse,
    readonly actorId: string,
  ) {}
}
