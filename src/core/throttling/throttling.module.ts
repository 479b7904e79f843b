import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import { AppThrottlerGuard } from './app-throttler.guard';
import { RateLimitStorage } from './rate-limit.storage';

@Module({ providers: [RateLimitStorage], exports: [RateLimitStorage] })
class RateLimitStorageModule {}

/**
 * The global rate limit (`RATE_LIMIT` per `RATE_LIMIT_WINDOW` per client) on every route that
 * does not opt out with `@SkipThrottle()`. `RATE_LIMIT=0` turns it off.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      imports: [RateLimitStorageModule],
      inject: [APP_CONFIG, RateLimitStorage],
      useFactory: (config: AppConfig, storage: RateLimitStorage) => ({
        storage,
        setHeaders: true,
        throttlers: [
          {
            name: 'default',
            limit: config.rateLimit.limit,
            ttl: config.rateLimit.windowSeconds * 1000,
            skipIf: () => config.rateLimit.limit === 0,
          },
        ],
      }),
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: AppThrottlerGuard }],
})
export class ThrottlingModule {}
