import { Global, Module } from '@nestjs/common';
import { DbPoolStats } from './db-pool.stats';
import { UnitOfWork } from './unit-of-work';
import { UserDeletionParticipants } from './user-deletion';

@Global()
@Module({ providers: [UnitOfWork, DbPoolStats, UserDeletionParticipants], exports: [UnitOfWork, DbPoolStats, UserDeletionParticipants] })
export class DatabaseCoreModule {}
