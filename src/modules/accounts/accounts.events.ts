import type { TransactionResponse } from './dto/transaction.response';

/** Emitted after a transfer has committed. */
export class TransferCompletedEvent {
  static readonly type = 'transfer.completed';
  constructor(
    readonly transaction: TransactionResponse,
    readonly actorId: string,
  ) {}
}
