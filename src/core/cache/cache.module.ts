import KeyvRedis from '@keyv/redis';
import { CacheModule as NestCacheModule, CacheOptions } from '@nestjs/cache-manager';
import { Global, Logger, Module } from '@nestjs/common';
import { Keyv } from 'keyv';
import { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import { REDIS_CLIENT, RedisClient } from '../redis/redis.module';
import { CacheAside } from './cache-aside.service';

/**
 * Wires `CACHE_MANAGER` (cache-manager 7 over Keyv) to Redis when `REDIS_URL` is set, to process
 * memory otherwise. Feature modules only inject it; keys live under `<REDIS_KEY_PREFIX>cache:`.
 */
function createKeyvStore(config: AppConfig, redis: RedisClient | null): Keyv {
  const namespace = `${config.redisKeyPrefix}cache`;
  // errors must reach CacheAside (which degrades to the database), not vanish into 'error' events
  // entries are plain JSON: Keyv's default (de)serializer walks every value for Buffers and costs
  // more than the Redis round trip on a cache hit
  const json = { serialize: JSON.stringify, deserialize: JSON.parse } as const;
  const keyv = redis
    ? new Keyv({
        store: new KeyvRedis(redis, { namespace, keyPrefixSeparator: ':', throwOnErrors: true }),
        namespace,
        useKeyPrefix: false,
        throwOnErrors: true,
        ...json,
      })
    : new Keyv({ namespace, throwOnErrors: true });
  const logger = new Logger('Cache');
  // CacheAside sees every failure (and counts it); this only keeps Keyv from crashing on an unheard 'error'
  keyv.on('error', (error: unknown) => logger.debug(`cache store error: ${error instanceof Error ? error.message : String(error)}`));
  return keyv;
}

@Global()
@Module({
  imports: [
    NestCacheModule.registerAsync({
      inject: [APP_CONFIG, REDIS_CLIENT],
      useFactory: (config: AppConfig, redis: RedisClient | null) => ({
        // the CommonJS and ESM builds of keyv declare separate (structurally equal) classes
        stores: [createKeyvStore(config, redis)] as unknown as CacheOptions['stores'],
        ttl: config.cache.ttlSeconds * 1000,
      }),
    }),
  ],
  providers: [CacheAside],
  exports: [NestCacheModule, CacheAside],
})
export class AppCacheModule {}
