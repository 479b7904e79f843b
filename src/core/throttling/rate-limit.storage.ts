import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { createHash, randomUUID } from 'node:crypto';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { InjectRedis, RedisClient } from '../redis/redis.module';
import { withTimeout } from '../util/with-timeout';

/** One of `limit` slots in a sliding window, taken; or the wait until one frees up. */
export type SlotReservation = { granted: true; release: () => Promise<void> } | { granted: false; retryAfterSeconds: number };

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

/**
 * A sliding window of held slots: a sorted set of slot ids scored by when each was taken (the
 * server's clock, so instances with skewed clocks agree). Checking and taking are one atomic
 * step, so N concurrent requests can never all see a free slot. Answers {1, 0} when the slot was
 * taken, else {0, ms until the oldest slot leaves the window}.
 */
const RESERVE_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return { 0, tonumber(oldest[2]) + window - now }
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return { 1, 0 }`;
const RESERVE_SHA = createHash('sha1').update(RESERVE_SCRIPT).digest('hex');
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
  /** Per key, slot id → when it was taken: the memory twin of RESERVE_SCRIPT's sorted sets. */
  private readonly memorySlots = new Map<string, { windowMs: number; taken: Map<string, number> }>();
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
    const seconds = toSeconds(remainingMs);
    const isBlocked = hits > limit;
    return { totalHits: hits, timeToExpire: seconds, isBlocked, timeToBlockExpire: isBlocked ? seconds : 0 };
  }

  /**
   * Takes one of `limit` slots of `key` for `windowMs`, unless all are held. The slot counts until
   * it leaves the window, or until `release` gives it back. In Redis when it answers, else in memory
   * (a slot is released where it was taken).
   */
  async reserveSlot(key: string, windowMs: number, limit: number): Promise<SlotReservation> {
    const fullKey = this.prefix + key;
    const slot = randomUUID();
    const args = [String(windowMs), String(limit), slot];
    const reply = await this.inRedis((redis) => this.evalScript(redis, RESERVE_SCRIPT, RESERVE_SHA, fullKey, args));
    if (!reply) return this.reserveInMemory(fullKey, slot, windowMs, limit);
    const [granted, waitMs] = reply;
    if (!granted) return { granted: false, retryAfterSeconds: toSeconds(waitMs) };
    // when Redis cannot be reached to release it, the slot counts until it leaves the window:
    // erring towards the limit, never past it
    return { granted: true, release: async () => void (await this.inRedis((redis) => redis.zRem(fullKey, slot))) };
  }

  /** Keys held in process memory (counters and slots), for diagnostics: never an email, only hashes. */
  memoryKeys(): string[] {
    return [...this.memory.keys(), ...this.memorySlots.keys()];
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  private async count(key: string, ttlMs: number): Promise<[number, number]> {
    const reply = await this.inRedis((redis) => this.evalScript(redis, INCREMENT_SCRIPT, INCREMENT_SHA, key, [String(ttlMs)]));
    return reply ?? this.countInMemory(key, ttlMs);
  }

  /** `work`'s answer when Redis gives it in time; null when memory must do instead. */
  private async inRedis<T>(work: (redis: RedisClient) => Promise<T>): Promise<T | null> {
    if (!this.redis) return null;
    if (!this.redis.isReady) {
      this.warnDegraded(new Error('Redis is not connected'));
      return null;
    }
    try {
      const result = await withTimeout(work(this.redis), REDIS_TIMEOUT_MS, 'Redis');
      if (this.degraded) this.logger.log('rate-limit counters are back in Redis');
      this.degraded = false;
      return result;
    } catch (error) {
      this.warnDegraded(error);
      return null;
    }
  }

  /** Runs a script answering two integers, loading it into Redis on first use. */
  private async evalScript(redis: RedisClient, script: string, sha: string, key: string, args: string[]): Promise<[number, number]> {
    const options = { keys: [key], arguments: args };
    let reply: unknown;
    try {
      reply = await redis.evalSha(sha, options);
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      reply = await redis.eval(script, options);
    }
    const [first, second] = reply as [number, number];
    return [Number(first), Number(second)];
  }

  private reserveInMemory(key: string, slot: string, windowMs: number, limit: number): SlotReservation {
    const now = Date.now();
    let slots = this.memorySlots.get(key);
    if (!slots) this.memorySlots.set(key, (slots = { windowMs, taken: new Map() }));
    const { taken } = slots;
    for (const [id, takenAt] of taken) if (takenAt <= now - windowMs) taken.delete(id);
    if (taken.size >= limit) {
      const oldest = Math.min(...taken.values());
      return { granted: false, retryAfterSeconds: toSeconds(oldest + windowMs - now) };
    }
    taken.set(slot, now);
    return { granted: true, release: () => Promise.resolve(void taken.delete(slot)) };
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
    for (const [key, { windowMs, taken }] of this.memorySlots) {
      for (const [id, takenAt] of taken) if (takenAt <= now - windowMs) taken.delete(id);
      if (taken.size === 0) this.memorySlots.delete(key);
    }
  }
}

function toSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
