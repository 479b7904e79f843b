import { ExecutionContext, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  ThrottlerModuleOptions,
  ThrottlerStorage,
} from '@nestjs/throttler';
import { AccessTokenReader } from '../auth/access-token-reader';
import type { FastifyRequest } from 'fastify';
import { RateLimitedError } from '../errors/app-error';
import { ipKey } from './client-ip';

interface ThrottlerLimitDetail {
  timeToBlockExpire: number;
}

/**
 * The global rate limit: one counter per client (not per route) for each named throttler.
 * It runs before authentication, so requests refused with 401/403 count too. The client is the
 * user of a validly signed bearer token, else the IP Fastify derived (which honours
 * `X-Forwarded-For` only under `TRUST_PROXY`), IPv6 grouped by /64 (`ipKey`).
 */
@Injectable()
export class AppThrottlerGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    @Optional() private readonly tokens?: AccessTokenReader,
  ) {
    super(options, storage, reflector);
  }

  protected override getTracker(request: Record<string, unknown>): Promise<string> {
    const req = request as unknown as FastifyRequest;
    const userId = this.tokens?.subjectOf(req.headers.authorization) ?? null;
    return Promise.resolve(userId ? `user:${userId}` : ipKey(req.ip));
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return `${throttlerName}:${tracker}`;
  }

  protected override throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    return Promise.reject(new RateLimitedError(detail.timeToBlockExpire));
  }
}
