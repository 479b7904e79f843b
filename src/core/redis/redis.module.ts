import { Global, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { createClient, RedisClientType } from '@redis/client';
import { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';

export type RedisClient = RedisClientType<{}, {}, {}, 2, {}>;

export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

/** Injects the shared Redis client, or null when `REDIS_URL` is unset (embedded mode). */
export const InjectRedis = (): ParameterDecorator => Inject(REDIS_CLIENT);

const CONNECT_WAIT_MS = 5000;

/**
 * Opens the one Redis connection the process uses for cache, rate-limit counters and health.
 * Commands fail fast while Redis is down (no offline queue) so callers can degrade instead of
 * hanging; each caller bounds its own wait (a per-command `timeout` option would cost an
 * AbortSignal and a DOMException per command). The client reconnects by itself.
 */
async function connectRedis(config: AppConfig): Promise<RedisClient | null> {
  if (!config.redisUrl) return null;
  const logger = new Logger('Redis');
  const client = createClient({
    url: config.redisUrl,
    disableOfflineQueue: true,
    socket: { connectTimeout: 2000, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000) },
  });
  let lastError = '';
  client.on('error', (error: Error) => {
    // reconnects log once per distinct failure, not once per retry
    if (error.message !== lastError) logger.warn(`Redis connection error: ${error.message}`);
    lastError = error.message;
  });
  client.on('ready', () => {
    if (lastError) logger.log('Redis connection restored');
    lastError = '';
  });
  const connected = client.connect().then(
    () => true,
    () => false,
  );
  const timeout = new Promise<false>((resolve) => setTimeout(resolve, CONNECT_WAIT_MS, false).unref());
  if (!(await Promise.race([connected, timeout]))) {
    logger.warn('Redis is not reachable yet; serving from fallbacks until it is');
  }
  return client;
}

@Injectable()
class RedisLifecycle implements OnApplicationShutdown {
  constructor(@InjectRedis() private readonly client: RedisClient | null) {}

  async onApplicationShutdown(): Promise<void> {
    if (!this.client) return;
    // the cache store may already have closed the shared client on module destroy
    try {
      if (this.client.isOpen) await this.client.close();
    } catch {
      this.client.destroy();
    }
  }
}

@Global()
@Module({
  providers: [{ provide: REDIS_CLIENT, inject: [APP_CONFIG], useFactory: connectRedis }, RedisLifecycle],
  exports: [REDIS_CLIENT],
})
export class RedisModule {}
