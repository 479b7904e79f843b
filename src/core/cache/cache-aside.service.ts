import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { MetricsService } from '../metrics/metrics.service';
import { requestContext } from '../http/request-context';
import { InjectRedis, RedisClient } from '../redis/redis.module';
import { withTimeout } from '../util/with-timeout';

/** A cached value, or a remembered "not found"; `at` is when it was cached (ms). */
type Entry<T> = ({ v: T } | { nf: 1 }) & { at?: number };

const READ_TIMEOUT_MS = 200;
const RETRY_INVALIDATION_MS = 500;
/** A second delete after a write closes the window in which another instance re-caches the old row. */
const SECOND_DELETE_MS = 1000;
const EPOCH_POLL_MS = 1000;

/**
 * Cache-aside reads with negative caching and in-flight de-duplication, and invalidation that
 * survives a cache outage. The cache is an accelerator, never a dependency: when it is down or
 * slow, reads go to the database and nothing answers 5xx because of it.
 */
@Injectable()
export class CacheAside implements OnModuleDestroy {
  private readonly logger = new Logger(CacheAside.name);
  private readonly inFlight = new Map<string, Promise<unknown>>();
  /** Keys whose invalidation has not reached the cache yet: never read or written meanwhile. */
  private readonly pending = new Set<string>();
  /** Bumped on every invalidation; a load that started before one must not write back. */
  private readonly generations = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private retryTimer: NodeJS.Timeout | null = null;
  /**
   * Entries cached before the last Redis outage are not trusted: a write made during the outage
   * on any instance may not have reached Redis. Every instance that sees Redis come back moves
   * the epoch forward (locally at once, and in Redis for instances that did not see it).
   */
  private epoch = 0;
  private outageSeen = false;
  private readonly epochKey: string;
  private readonly epochPoll: NodeJS.Timeout | null = null;

  constructor(
    @Inject(CACHE_MANAGER) private readonly cache: Cache,
    @InjectConfig() private readonly config: AppConfig,
    @InjectRedis() private readonly redis: RedisClient | null,
    private readonly metrics: MetricsService,
  ) {
    this.epochKey = `${config.redisKeyPrefix}cache-epoch`;
    if (redis) {
      redis.on('error', () => (this.outageSeen = true));
      redis.on('end', () => (this.outageSeen = true));
      redis.on('ready', () => void this.recovered());
      this.epochPoll = setInterval(() => void this.readEpoch(), EPOCH_POLL_MS);
      this.epochPoll.unref();
      void this.readEpoch();
    }
  }

  /**
   * The value under `key`, loading (and caching) it on a miss. Concurrent misses for one key
   * share a single load. `null` from the loader is cached for `CACHE_NEGATIVE_TTL`. Within one
   * request a key is read once: later reads get the same value (until `invalidate`).
   */
  get<T>(name: string, key: string, load: () => Promise<T | null>): Promise<T | null> {
    const context = requestContext.getStore();
    if (context === undefined) return this.lookUp(name, key, load);
    // the request's first read of the key, shared by its later reads (even while in flight)
    const memo = (context.cacheMemo ??= new Map<string, Promise<unknown>>());
    let value = memo.get(key) as Promise<T | null> | undefined;
    if (value === undefined) {
      value = this.lookUp(name, key, load);
      memo.set(key, value);
    }
    return value;
  }

  private async lookUp<T>(name: string, key: string, load: () => Promise<T | null>): Promise<T | null> {
    if (this.pending.has(key)) return load();
    const cached = await this.read<T>(name, key);
    if (cached) return 'nf' in cached ? null : cached.v;
    const running = this.inFlight.get(key) as Promise<T | null> | undefined;
    if (running) return running;
    const generation = this.generations.get(key) ?? 0;
    const loading = (async () => {
      const value = await load();
      if ((this.generations.get(key) ?? 0) === generation && !this.pending.has(key)) await this.write(key, value);
      return value;
    })().finally(() => {
      // an invalidation may have replaced this load by a newer one meanwhile: leave that one be
      if (this.inFlight.get(key) === loading) this.inFlight.delete(key);
    });
    this.inFlight.set(key, loading);
    return loading;
  }

  /** Removes `key` everywhere at once; if the cache is unreachable, keeps retrying until it is not. */
  async invalidate(key: string): Promise<void> {
    requestContext.getStore()?.cacheMemo?.delete(key);
    this.generations.set(key, (this.generations.get(key) ?? 0) + 1);
    this.inFlight.delete(key);
    if (!(await this.delete(key))) {
      this.pending.add(key);
      this.scheduleRetry();
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.delete(key).then((ok) => {
        if (!ok) {
          this.pending.add(key);
          this.scheduleRetry();
        }
      });
    }, SECOND_DELETE_MS);
    timer.unref();
    this.timers.add(timer);
  }

  onModuleDestroy(): void {
    if (this.epochPoll) clearInterval(this.epochPoll);
    for (const timer of this.timers) clearTimeout(timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  private async read<T>(name: string, key: string): Promise<Entry<T> | undefined> {
    try {
      let entry = await withTimeout(this.store().get<Entry<T>>(key), READ_TIMEOUT_MS, 'cache');
      if (entry && (entry.at ?? 0) < this.epoch) entry = undefined; // cached before an outage
      this.metrics.countCacheRequest(name, entry ? 'hit' : 'miss');
      return entry ?? undefined;
    } catch (error) {
      this.metrics.countCacheRequest(name, 'error');
      this.logger.debug(`cache read failed for ${name}: ${(error as Error).message}`);
      return undefined;
    }
  }

  private async write<T>(key: string, value: T | null): Promise<void> {
    const entry: Entry<T> = value === null ? { nf: 1, at: Date.now() } : { v: value, at: Date.now() };
    const ttl = (value === null ? this.config.cache.negativeTtlSeconds : this.config.cache.ttlSeconds) * 1000;
    try {
      await withTimeout(this.store().set(key, entry, ttl), READ_TIMEOUT_MS, 'cache');
    } catch (error) {
      this.logger.debug(`cache write failed: ${(error as Error).message}`);
    }
  }

  private async delete(key: string): Promise<boolean> {
    try {
      await withTimeout(this.store().delete(key), READ_TIMEOUT_MS * 5, 'cache');
      return true;
    } catch (error) {
      this.logger.warn(`cache invalidation failed, will retry: ${(error as Error).message}`);
      return false;
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.retryPending();
    }, RETRY_INVALIDATION_MS);
    this.retryTimer.unref();
  }

  private async recovered(): Promise<void> {
    if (this.outageSeen) {
      this.outageSeen = false;
      this.epoch = Math.max(this.epoch, Date.now());
      try {
        const stored = Number(await withTimeout(this.redis!.get(this.epochKey), READ_TIMEOUT_MS * 5, 'Redis'));
        if (!(stored >= this.epoch)) await this.redis!.set(this.epochKey, String(this.epoch));
      } catch (error) {
        this.logger.warn(`could not publish the cache epoch: ${(error as Error).message}`);
      }
    }
    await this.retryPending();
  }

  private async readEpoch(): Promise<void> {
    if (!this.redis?.isReady) return;
    try {
      const stored = Number(await withTimeout(this.redis.get(this.epochKey), READ_TIMEOUT_MS, 'Redis'));
      if (stored > this.epoch) this.epoch = stored;
    } catch {
      // the next poll tries again; reads meanwhile use the epoch we have
    }
  }

  private async retryPending(): Promise<void> {
    if (this.pending.size === 0) return;
    for (const key of [...this.pending]) {
      if (await this.delete(key)) this.pending.delete(key);
    }
    if (this.pending.size > 0) this.scheduleRetry();
    else this.logger.log('pending cache invalidations applied');
  }

  /** The Keyv store: used directly because cache-manager turns read errors into misses. */
  private store() {
    return this.cache.stores[0]!;
  }
}
