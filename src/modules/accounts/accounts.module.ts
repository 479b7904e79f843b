import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Account } from './account.entity';
import { AccountsMaintenance } from './accounts-maintenance.service';
import { AccountsOfUsers } from './accounts-of-users';
import { AccountsController } from './accounts.controller';
import { AccountsRepository } from './accounts.repository';
import { AccountsService } from './accounts.service';
import { IdempotencyKey } from './idempotency-key.entity';
import { IdempotencyKeysRepository } from './idempotency-keys.repository';
import { LedgerEntry } from './ledger-entry.entity';
import { LedgerRepository } from './ledger.repository';
import { TransfersController } from './transfers.controller';
import { TransfersService } from './transfers.service';

@Module({
  imports: [TypeOrmModule.forFeature([Account, LedgerEntry, IdempotencyKey])],
  controllers: [AccountsController, TransfersController],
  providers: [
    AccountsService,
    TransfersService,
    AccountsRepository,
    LedgerRepository,
    IdempotencyKeysRepository,
    AccountsMaintenance,
    AccountsOfUsers,
  ],
  exports: [AccountsService],
})
export class AccountsModule {}
