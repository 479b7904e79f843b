import { ExecutionContext, Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import { AUTH_RATE_LIMIT } from './auth-rate-limit.decorator';
import { ipKey } from './client-ip';
import { EmailRequestLimiter } from './email-request.limiter';
import { LoginFailureLimiter } from './login-failure.limiter';
import { RateLimitStorage } from './rate-limit.storage';

@Module({
  providers: [RateLimitStorage, LoginFailureLimiter, EmailRequestLimiter],
  exports: [RateLimitStorage, LoginFailureLimiter, EmailRequestLimiter],
})
class RateLimitStorageModule {}

function hasAuthRateLimit(context: ExecutionContext): boolean {
  return Reflect.getMetadata(AUTH_RATE_LIMIT, context.getHandler()) === true;
}

function ipOf(request: Record<string, unknown>): string {
  return ipKey((request as unknown as FastifyRequest).ip);
}

/**
 * Two limits, each a named throttler of @nestjs/throttler:
 * - `default`: `RATE_LIMIT` per window per client (user id and token version when authenticated, else IP), all routes;
 * - `auth`: `AUTH_RATE_LIMIT` per window per IP on each `@AuthRateLimit()` route.
 * A limit of 0 turns that throttler off. The limiter itself (`AppThrottlerGuard`) is provided by
 * AppModule, where the auth module's `Authenticator` is visible, and called first by the global
 * access guard.
 * Failed password checks per email (logins, current passwords) are counted by `LoginFailureLimiter`
 * (exported), which the check itself calls: only it knows whether the password was right.
 * Requests that mail an address (password reset, verification) are counted per email by
 * `EmailRequestLimiter` (exported), on top of the `auth` limit per IP.
 */
@Module({
  imports: [
    RateLimitStorageModule,
    ThrottlerModule.forRootAsync({
      imports: [RateLimitStorageModule],
      inject: [APP_CONFIG, RateLimitStorage],
      useFactory: (config: AppConfig, storage: RateLimitStorage) => {
        const ttl = config.rateLimit.windowSeconds * 1000;
        const authLimit = config.rateLimit.authLimit;
        return {
          storage,
          setHeaders: true,
          throttlers: [
            { name: 'default', limit: config.rateLimit.limit, ttl, skipIf: () => config.rateLimit.limit === 0 },
            {
              name: 'auth',
              limit: authLimit,
              ttl,
              skipIf: (context) => authLimit === 0 || !hasAuthRateLimit(context),
              getTracker: ipOf,
              generateKey: (context, tracker, name) => `${name}:${context.getHandler().name}:${tracker}`,
            },
          ],
        };
      },
    }),
  ],
  exports: [RateLimitStorageModule],
})
export class ThrottlingModule {}
