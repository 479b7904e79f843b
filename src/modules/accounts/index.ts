export { AccountsModule } from './accounts.module';
export { AccountsService } from './accounts.service';
export { AccountResponse, toAccountResponse } from './dto/account.response';
export { TransactionResponse } from './dto/transaction.response';
export { TransferCompletedEvent } from './accounts.events';
