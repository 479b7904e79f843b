import { ExecutionContext, Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import { AUTH_RATE_LIMIT, AuthRateLimitOptions } from './auth-rate-limit.decorator';
import { ipKey } from './client-ip';
import { RateLimitStorage } from './rate-limit.storage';

@Module({ providers: [RateLimitStorage], exports: [RateLimitStorage] })
class RateLimitStorageModule {}

function authOptions(context: ExecutionContext): AuthRateLimitOptions | undefined {
  return Reflect.getMetadata(AUTH_RATE_LIMIT, context.getHandler()) as AuthRateLimitOptions | undefined;
}

function ipOf(request: Record<string, unknown>): string {
  return ipKey((request as unknown as FastifyRequest).ip);
}

/**
 * Three limits, each a named throttler of @nestjs/throttler:
 * - `default`: `RATE_LIMIT` per window per client (user id when authenticated, else IP), all routes;
 * - `auth`: `AUTH_RATE_LIMIT` per window per IP on each `@AuthRateLimit()` route;
 * - `auth-email`: `AUTH_RATE_LIMIT` per window per email on `@AuthRateLimit({ perEmail: true })`.
 * A limit of 0 turns that throttler off. The guard itself (`AppThrottlerGuard`) is registered
 * by AppModule, first of the global guards, where the auth module's AccessTokenReader is visible.
 */
@Module({
  imports: [
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
              skipIf: (context) => authLimit === 0 || !authOptions(context),
              getTracker: ipOf,
              generateKey: (context, tracker, name) => `${name}:${context.getHandler().name}:${tracker}`,
            },
            {
              name: 'auth-email',
              limit: authLimit,
              ttl,
              skipIf: (context) => authLimit === 0 || !authOptions(context)?.perEmail,
              getTracker: (request) => {
                const email = (request as { body?: { email?: unknown } }).body?.email;
                return typeof email === 'string' ? `email:${email.trim().toLowerCase()}` : ipOf(request);
              },
              generateKey: (context, tracker, name) => `${name}:${context.getHandler().name}:${tracker}`,
            },
          ],
        };
      },
    }),
  ],
})
export class ThrottlingModule {}
