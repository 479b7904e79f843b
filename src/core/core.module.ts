import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import { ConfigModule } from '../config/config.module';
import { AppCacheModule } from './cache/cache.module';
import { CryptoModule } from './crypto/crypto.module';
import { DatabaseCoreModule } from './database/database-core.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { AllExceptionsFilter } from './http/all-exceptions.filter';
import { EmbedsModule } from './http/embeds';
import { EnvelopeInterceptor } from './http/envelope.interceptor';
import { createValidationPipe } from './http/validation.pipe';
import { LoggingModule } from './logging/logging.module';
import { MailModule } from './mail/mail.module';
import { MetricsModule } from './metrics/metrics.module';
import { OutboxModule } from './outbox/outbox.module';
import { RedisModule } from './redis/redis.module';
import { ThrottlingModule } from './throttling/throttling.module';

/** Everything feature modules stand on. Imports no feature module (checked by test/architecture). */
@Module({})
export class CoreModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: CoreModule,
      imports: [
        ConfigModule.forRoot(config),
        CryptoModule,
        LoggingModule.forRoot(logger),
        DatabaseModule.forRoot(config, logger),
        DatabaseCoreModule,
        EmbedsModule,
        OutboxModule,
        MailModule,
        RedisModule,
        AppCacheModule,
        ThrottlingModule,
        EventEmitterModule.forRoot({ wildcard: false, ignoreErrors: false }),
        HealthModule,
        MetricsModule,
      ],
      providers: [
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        // the success envelope of every route; errors are enveloped by the filter
        { provide: APP_INTERCEPTOR, useClass: EnvelopeInterceptor },
      ],
    };
  }
}
