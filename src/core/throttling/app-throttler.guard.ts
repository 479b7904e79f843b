import { ExecutionContext, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGenerateKeyFunction,
  ThrottlerGetTrackerFunction,
  ThrottlerGuard,
  ThrottlerModuleOptions,
  ThrottlerOptions,
  ThrottlerStorage,
} from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { Authenticator } from '../auth/authenticator';
import { RateLimitedError } from '../errors/app-error';
import { HandlerCache } from '../http/handler-cache';
import { ipKey } from './client-ip';

interface ThrottlerLimitDetail {
  timeToBlockExpire: number;
}

/** @nestjs/throttler's metadata keys (`@SkipThrottle`, `@Throttle`), suffixed by the throttler's name. */
const THROTTLER_KEYS = {
  skip: 'THROTTLER:SKIP',
  limit: 'THROTTLER:LIMIT',
  ttl: 'THROTTLER:TTL',
  blockDuration: 'THROTTLER:BLOCK_DURATION',
  tracker: 'THROTTLER:TRACKER',
  keyGenerator: 'THROTTLER:KEY_GENERATOR',
} as const;

type Resolvable = number | ((context: ExecutionContext) => number | Promise<number>);

/** One throttler that applies to a route, with its metadata resolved. */
interface ActiveThrottler {
  throttler: ThrottlerOptions & { name: string };
  limit: Resolvable;
  ttl: Resolvable;
  blockDuration: Resolvable | undefined;
  getTracker: ThrottlerGetTrackerFunction;
  generateKey: ThrottlerGenerateKeyFunction;
}

/**
 * The global rate limit: one counter per client (not per route) for each named throttler. The
 * access guard calls `limit()` first, so requests refused with 401/403 count too. The client is
 * the user (and token version) of a validly signed bearer token, else the IP Fastify derived (which honours
 * `X-Forwarded-For` only under `TRUST_PROXY`), IPv6 grouped by /64 (`ipKey`).
 *
 * @nestjs/throttler's own `canActivate` reads six metadata keys per throttler on every request;
 * here the throttlers that apply to a route are worked out on its first request and kept
 * (`skipIf` options must therefore depend on the route and configuration only, as ours do), and
 * a route no throttler applies to costs nothing.
 */
@Injectable()
export class AppThrottlerGuard extends ThrottlerGuard {
  private readonly plans = new HandlerCache<ActiveThrottler[]>((handler, controller) => this.plan(handler, controller));
  /** The context a plan is being computed for (`skipIf` takes one). */
  private planning: ExecutionContext | null = null;

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    @Optional() private readonly authenticator?: Authenticator,
  ) {
    super(options, storage, reflector);
  }

  /**
   * Counts the request against every throttler of its route; 429 `RATE_LIMITED` over a limit.
   * Null, synchronously, when no throttler applies to the route (nothing to wait for).
   */
  limit(context: ExecutionContext): Promise<void> | null {
    this.planning = context;
    const active = this.plans.get(context);
    this.planning = null;
    return active.length === 0 ? null : this.count(context, active);
  }

  private async count(context: ExecutionContext, active: ActiveThrottler[]): Promise<void> {
    for (const entry of active) {
      const ttl = typeof entry.ttl === 'number' ? entry.ttl : await resolve(context, entry.ttl);
      await this.handleRequest({
        context,
        throttler: entry.throttler,
        limit: typeof entry.limit === 'number' ? entry.limit : await resolve(context, entry.limit),
        ttl,
        blockDuration: entry.blockDuration === undefined ? ttl : await resolve(context, entry.blockDuration),
        getTracker: entry.getTracker,
        generateKey: entry.generateKey,
      });
    }
  }

  /** Usable on its own as a guard too (`@UseGuards(AppThrottlerGuard)`). */
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    await this.limit(context);
    return true;
  }

  protected override getTracker(request: Record<string, unknown>): Promise<string> {
    const req = request as unknown as FastifyRequest;
    const subject = this.authenticator?.limiterSubjectOf(req) ?? null;
    return Promise.resolve(subject ? `user:${subject}` : ipKey(req.ip));
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return `${throttlerName}:${tracker}`;
  }

  protected override throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    return Promise.reject(new RateLimitedError(detail.timeToBlockExpire));
  }

  private plan(handler: object, controller: object): ActiveThrottler[] {
    const context = this.planning!;
    const read = <T>(key: string): T | undefined =>
      (Reflect.getMetadata(key, handler) ?? Reflect.getMetadata(key, controller)) as T | undefined;
    const active: ActiveThrottler[] = [];
    for (const throttler of this.throttlers) {
      const name = throttler.name!;
      const skipIf = throttler.skipIf ?? this.commonOptions.skipIf;
      if (read<boolean>(THROTTLER_KEYS.skip + name) || skipIf?.(context)) continue;
      active.push({
        throttler: throttler as ActiveThrottler['throttler'],
        limit: read<Resolvable>(THROTTLER_KEYS.limit + name) ?? throttler.limit,
        ttl: read<Resolvable>(THROTTLER_KEYS.ttl + name) ?? throttler.ttl,
        blockDuration: read<Resolvable>(THROTTLER_KEYS.blockDuration + name) ?? throttler.blockDuration,
        getTracker:
          read<ThrottlerGetTrackerFunction>(THROTTLER_KEYS.tracker + name) ?? throttler.getTracker ?? this.commonOptions.getTracker!,
        generateKey:
          read<ThrottlerGenerateKeyFunction>(THROTTLER_KEYS.keyGenerator + name) ??
          throttler.generateKey ??
          this.commonOptions.generateKey!,
      });
    }
    return active;
  }
}

async function resolve(context: ExecutionContext, value: Resolvable): Promise<number> {
  const resolved = typeof value === 'function' ? await value(context) : value;
  if (typeof resolved !== 'number' || Number.isNaN(resolved)) throw new Error(`Invalid throttler setting: ${String(resolved)}`);
  return resolved;
}
