import { DynamicModule, Module, Type } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { Logger } from 'pino';
import { AppConfig } from './config/app-config';
import { AccessGuard } from './core/auth/access.guard';
import { CoreModule } from './core/core.module';
import { AppThrottlerGuard } from './core/throttling/app-throttler.guard';
import { AccountsModule } from './modules/accounts';
import { AuditModule } from './modules/audit';
import { AuthModule } from './modules/auth';
import { UsersModule } from './modules/users';

/** The application: the shared core plus every feature module. */
@Module({})
export class AppModule {
  /** `extraModules` lets tests mount probe routes beside the real ones. */
  static forRoot(config: AppConfig, logger: Logger, extraModules: Array<Type<unknown> | DynamicModule> = []): DynamicModule {
    return {
      module: AppModule,
      imports: [CoreModule.forRoot(config, logger), UsersModule, AuthModule, AccountsModule, AuditModule, ...extraModules],
      // one global guard: over the limit (refused requests count too), who is calling, may they
      providers: [AppThrottlerGuard, { provide: APP_GUARD, useClass: AccessGuard }],
    };
  }
}
