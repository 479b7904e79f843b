import { Global, Module } from '@nestjs/common';
import { DbPoolStats } from './db-pool.stats';
import { UnitOfWork } from './unit-of-work';

@Global()
@Module({ providers: [UnitOfWork, DbPoolStats], exports: [UnitOfWork, DbPoolStats] })
export class DatabaseCoreModule {}
