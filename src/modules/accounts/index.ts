export { AccountsModule } from './accounts.module';
export { AccountsService } from './accounts.service';
export { AccountResponse, toAccountResponse } from './dto/account.response';
export { TransactionResponse } from './dto/transaction.response';
export { TransferCompletedEvent, AccountEvents, ACCOUNT_EVENT_TYPES } from './accounts.events';
export type { AccountCreatedData, DepositData, TransferCompletedData } from './accounts.events';
