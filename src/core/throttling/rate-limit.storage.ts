import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { createHash } from 'node:crypto';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { InjectRedis, RedisClient } from '../redis/redis.module';
import { withTimeout } from '../util/with-timeout';

interface ThrottlerStorageRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/** Fixed-window counter: one atomic round trip, so concurrent requests can never overshoot. */
const INCREMENT_SCRIPT = `
local hits = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { hits, ttl }`;
const INCREMENT_SHA = createHash('sha1').update(INCREMENT_SCRIPT).digest('hex');
const SWEEP_INTERVAL_MS = 60_000;
// generous: under a burst, Redis answers late but still counts; falling back early would over-admit
const REDIS_TIMEOUT_MS = 2000;

/**
 * Rate-limit counters in Redis (shared by every instance) or, without Redis, in process
 * memory. While Redis is unreachable the counters fall back to memory: limits then hold per
 * instance instead of failing every request or none.
 */
@Injectable()
export class RateLimitStorage implements ThrottlerStorage, OnModuleDestroy {
  private readonly logger = new Logger(RateLimitStorage.name);
  private readonly memory = new Map<string, { hits: number; expiresAt: number }>();
  private readonly sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();
  private readonly prefix: string;
  private degraded = false;

  constructor(
    @InjectRedis() private readonly redis: RedisClient | null,
    @InjectConfig() config: AppConfig,
  ) {
    this.prefix = `${config.redisKeyPrefix}rl:`;
  }

  async increment(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    const [hits, remainingMs] = await this.count(this.prefix + key, ttl);
    const seconds = Math.max(1, Math.ceil(remainingMs / 1000));
    const isBlocked = hits > limit;
    return { totalHits: hits, timeToExpire: seconds, isBlocked, timeToBlockExpire: isBlocked ? seconds : 0 };
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  private async count(key: string, ttlMs: number): Promise<[number, number]> {
    if (this.redis?.isReady) {
      try {
        const result = await withTimeout(this.evalIncrement(this.redis, key, ttlMs), REDIS_TIMEOUT_MS, 'Redis');
        if (this.degraded) this.logger.log('rate-limit counters are back in Redis');
        this.degraded = false;
        return result;
      } catch (error) {
        this.warnDegraded(error);
      }
    } else if (this.redis) {
      this.warnDegraded(new Error('Redis is not connected'));
    }
    return this.countInMemory(key, ttlMs);
  }

  private async evalIncrement(redis: RedisClient, key: string, ttlMs: number): Promise<[number, number]> {
    const options = { keys: [key], arguments: [String(ttlMs)] };
    let reply: unknown;
    try {
      reply = await redis.evalSha(INCREMENT_SHA, options);
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      reply = await redis.eval(INCREMENT_SCRIPT, options);
    }
    const [hits, ttl] = reply as [number, number];
    return [Number(hits), Number(ttl)];
  }

  private countInMemory(key: string, ttlMs: number): [number, number] {
    const now = Date.now();
    let entry = this.memory.get(key);
    if (!entry || entry.expiresAt <= now) {
      entry = { hits: 0, expiresAt: now + ttlMs };
      this.memory.set(key, entry);
    }
    entry.hits += 1;
    return [entry.hits, entry.expiresAt - now];
  }

  private warnDegraded(error: unknown): void {
    if (!this.degraded) {
      this.logger.warn(`rate-limit counters fall back to memory: ${(error as Error).message}`);
    }
    this.degraded = true;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.memory) if (entry.expiresAt <= now) this.memory.delete(key);
  }
}
