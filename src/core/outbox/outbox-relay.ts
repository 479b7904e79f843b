import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import { Tx, UnitOfWork } from '../database/unit-of-work';
import { describeDriverError, isDriverError } from '../errors/driver-errors';
import { requestContext } from '../http/request-context';
import { InjectRedis, RedisClient } from '../redis/redis.module';
import { withTimeout } from '../util/with-timeout';
import { DomainEvent } from './domain-event';
import { OUTBOX_BATCH_SUBSCRIBER, OUTBOX_SUBSCRIBER } from './on-outbox-event.decorator';
import { OutboxRow, OutboxStore } from './outbox-store';

export type OutboxHandler = (event: DomainEvent, tx: Tx) => unknown;
export type OutboxBatchHandler = (events: DomainEvent[], tx: Tx) => unknown;

/**
 * Between polls when there is nothing to do. A unit of work that published nudges its own
 * instance's relay at once after the commit, so this only bounds how late rows nobody nudged for
 * are picked up (left by a crashed instance, or a stream pass that waited for Redis).
 */
export const OUTBOX_POLL_MS = 1_000;
/**
 * A nudge waits this long before its pass, so the commits of a burst share one pass (one claim,
 * one multi-row audit insert, one stream pipeline) instead of one pass each: under contended
 * transfers a pass per commit took CPU from the requests themselves.
 */
const NUDGE_DELAY_MS = 25;
/** The first back-off after a failed pass; doubling up to MAX_BACKOFF_MS. */
const FIRST_BACKOFF_MS = 200;
const BATCH = 100;
/** Back-off after a failed pass: doubling up to this. */
const MAX_BACKOFF_MS = 30_000;
/** Delivered (and streamed) rows are kept this long, then purged by an hourly sweep. */
export const OUTBOX_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
const SWEEP_EVERY_MS = 60 * 60 * 1000;
const STREAM_TIMEOUT_MS = 2000;
/** The claim locks the rows it reads, never the gap new rows go into (see UnitOfWork.run). */
const READ_COMMITTED = { readCommitted: true };

/**
 * Delivers committed outbox rows to the `@OnOutboxEvent` subscribers, at least once, in id order
 * within a pass: in one transaction it claims the oldest undelivered rows (`FOR UPDATE SKIP
 * LOCKED` on MySQL/MariaDB, so instances never hold one row at once; SQLite: the unit of work's
 * exclusive transaction, one instance), calls each subscriber with the event and that
 * transaction, marks the rows delivered and commits. A subscriber that throws rolls the pass
 * back; it is retried with back-off. When `REDIS_URL` is set the same pass appends the events to
 * the Redis stream `<REDIS_KEY_PREFIX>events` and marks both cursors (`delivered_at`,
 * `streamed_at`) in one UPDATE. If Redis is down or fails, the rows are marked delivered only and
 * a stream pass of its own (its own claim on `streamed_at`) appends them once Redis is back: an
 * outage delays the stream without holding up subscribers.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly handlers = new Map<string, OutboxHandler[]>();
  private readonly batchHandlers: Array<{ types: ReadonlySet<string>; handler: OutboxBatchHandler }> = [];
  /** Told there are rows (a nudge): the next pass skips its look for them. */
  private nudged = false;
  private readonly streamKey: string;
  private timer: NodeJS.Timeout | null = null;
  /** When the pending timer fires (ms since the epoch). */
  private timerDue = 0;
  private sweeper: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private failures = 0;
  /** Some delivered rows may wait for the stream (an append failed, or at start: another instance may have left some). */
  private unstreamed = true;

  constructor(
    private readonly store: OutboxStore,
    private readonly uow: UnitOfWork,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    @InjectRedis() private readonly redis: RedisClient | null,
    @Inject(APP_CONFIG) config: Pick<AppConfig, 'redisKeyPrefix'>,
  ) {
    this.streamKey = `${config.redisKeyPrefix}events`;
  }

  onApplicationBootstrap(): void {
    this.discoverSubscribers();
    this.uow.onEventsCommitted(() => this.nudge());
    this.stopped = false;
    this.schedule(0); // rows left undelivered by a crash go first
    this.sweeper = setInterval(() => void this.purge(), SWEEP_EVERY_MS).unref();
  }

  /** Stops polling and waits for the pass in hand (before the data source and Redis close). */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.sweeper) clearInterval(this.sweeper);
    await this.inFlight;
  }

  /** A subscriber registered by hand (tests; code that is not a provider). */
  subscribe(type: string, handler: OutboxHandler): void {
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), handler]);
  }

  /** Deliver now rather than at the next poll. */
  nudge(): void {
    if (this.stopped) return;
    this.nudged = true;
    // while failing, the back-off decides when the next pass runs
    if (this.failures > 0) return;
    if (this.inFlight) this.again = true;
    else this.schedule(NUDGE_DELAY_MS);
  }

  /** One delivery pass and one stream pass; resolves with the rows delivered. */
  async drain(): Promise<number> {
    const delivered = await this.deliverBatch(false);
    if (this.redis) await this.streamBatch();
    return delivered;
  }

  private discoverSubscribers(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const method = instance[name];
        if (typeof method !== 'function') continue;
        const types = this.reflector.get<string[] | undefined>(OUTBOX_SUBSCRIBER, method as (...args: unknown[]) => unknown);
        for (const type of types ?? []) this.subscribe(type, (method as OutboxHandler).bind(instance));
        const batchTypes = this.reflector.get<string[] | undefined>(OUTBOX_BATCH_SUBSCRIBER, method as (...args: unknown[]) => unknown);
        if (batchTypes) this.batchHandlers.push({ types: new Set(batchTypes), handler: (method as OutboxBatchHandler).bind(instance) });
      }
    }
  }

  /** The next pass no later than `ms` from now (a pass already due sooner stays). */
  private schedule(ms: number): void {
    if (this.stopped) return;
    const due = Date.now() + ms;
    if (this.timer) {
      if (this.timerDue <= due) return;
      clearTimeout(this.timer);
    }
    this.timerDue = due;
    // not in the context of the request whose commit nudged: the pass belongs to no request (its log lines, its cache memo)
    this.timer = setTimeout(() => requestContext.exit(() => this.tick()), ms);
    this.timer.unref();
  }

  private tick(): void {
    this.timer = null;
    this.again = false;
    const nudged = this.nudged;
    this.nudged = false;
    this.inFlight = this.pass(nudged).finally(() => (this.inFlight = null));
  }

  private async pass(nudged: boolean): Promise<void> {
    let busy = false;
    try {
      const delivered = await this.deliverBatch(nudged);
      // rows the delivery pass could not stream (Redis was down), or that another instance left:
      // looked for on every poll, and after a nudge only while some are known to be waiting
      const lookForUnstreamed = this.redis !== null && (!nudged || this.unstreamed);
      const streamed = lookForUnstreamed ? await this.streamBatch() : 0;
      busy = delivered === BATCH || streamed === BATCH;
      this.failures = 0;
    } catch (error) {
      this.failures++;
      const err = isDriverError(error) ? describeDriverError(error) : error;
      this.logger.error({ msg: 'outbox pass failed; retrying with back-off', failures: this.failures, err });
    }
    const backoff = Math.min(FIRST_BACKOFF_MS * 2 ** this.failures, MAX_BACKOFF_MS);
    this.schedule(this.failures > 0 ? backoff : busy ? 0 : this.again ? NUDGE_DELAY_MS : OUTBOX_POLL_MS);
  }

  /**
   * Delivers the oldest undelivered rows and, when Redis answers, appends them to the stream in
   * the same pass (one claim, one UPDATE of both cursors): a burst's events cost one transaction,
   * not two. If the append fails the rows are marked delivered only, and the stream pass takes
   * them up (`unstreamed`).
   */
  private async deliverBatch(known: boolean): Promise<number> {
    if (!known && !(await this.store.anyPending('delivered_at'))) return 0;
    return this.uow.run(async (tx) => {
      const rows = await this.store.claim(tx, 'delivered_at', BATCH);
      const events = rows.map((row) => JSON.parse(row.payload) as DomainEvent);
      for (const event of events) {
        for (const handler of this.handlers.get(event.type) ?? []) await handler(event, tx);
      }
      for (const { types, handler } of this.batchHandlers) {
        const mine = events.filter((event) => types.has(event.type));
        if (mine.length > 0) await handler(mine, tx);
      }
      const streamed = rows.length > 0 && (await this.appendToStream(rows, events));
      await this.store.mark(tx, streamed ? ['delivered_at', 'streamed_at'] : ['delivered_at'], rows);
      return rows.length;
    }, READ_COMMITTED);
  }

  /**
   * Appends the rows to the stream; false (nothing thrown) when Redis is not there or fails: the
   * stream pass takes them up. While the stream pass has rows waiting, new rows wait behind them
   * (the stream stays in id order, and a Redis that answers slowly costs the delivery pass nothing).
   */
  private async appendToStream(rows: OutboxRow[], events: DomainEvent[]): Promise<boolean> {
    const redis = this.redis;
    if (!redis) return false;
    if (redis.isReady && !this.unstreamed) {
      try {
        await withTimeout(
          Promise.all(
            rows.map((row, i) => redis.xAdd(this.streamKey, '*', { id: events[i]!.id, type: events[i]!.type, event: row.payload })),
          ),
          STREAM_TIMEOUT_MS,
          'Redis',
        );
        return true;
      } catch (error) {
        this.logger.warn({ msg: 'outbox: stream append failed; the stream pass retries', err: error });
      }
    }
    this.unstreamed = true;
    return false;
  }

  private async streamBatch(): Promise<number> {
    const redis = this.redis;
    if (!redis?.isReady) return 0;
    if (!(await this.store.anyPending('streamed_at'))) {
      this.unstreamed = false;
      return 0;
    }
    return this.uow.run(async (tx) => {
      const rows = await this.store.claim(tx, 'streamed_at', BATCH);
      // sent together (one pipelined write); a failure rolls the pass back: those rows are appended again later (consumers dedupe by id)
      const appends = rows.map((row) => {
        const event = JSON.parse(row.payload) as DomainEvent;
        return redis.xAdd(this.streamKey, '*', { id: event.id, type: event.type, event: row.payload });
      });
      await withTimeout(Promise.all(appends), STREAM_TIMEOUT_MS, 'Redis');
      await this.store.mark(tx, ['streamed_at'], rows);
      return rows.length;
    }, READ_COMMITTED);
  }

  private async purge(): Promise<void> {
    try {
      const cutoff = Date.now() - OUTBOX_RETENTION_MS;
      await this.store.purge(cutoff, this.redis !== null);
    } catch (error) {
      const err = isDriverError(error) ? describeDriverError(error) : error;
      this.logger.warn({ msg: 'outbox purge failed; next sweep retries', err });
    }
  }
}
