import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { RateLimitedError } from '../errors/app-error';

interface ThrottlerLimitDetail {
  timeToBlockExpire: number;
}

/**
 * The global rate limit: one counter per client (not per route) for each named throttler.
 * The client is the authenticated user when there is one, else the IP Fastify derived
 * (which honours `X-Forwarded-For` only under `TRUST_PROXY`).
 */
@Injectable()
export class AppThrottlerGuard extends ThrottlerGuard {
  protected override getTracker(request: Record<string, unknown>): Promise<string> {
    const req = request as unknown as FastifyRequest & { user?: { id?: string } };
    return Promise.resolve(req.user?.id ? `user:${req.user.id}` : `ip:${req.ip}`);
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return `${throttlerName}:${tracker}`;
  }

  protected override throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    return Promise.reject(new RateLimitedError(detail.timeToBlockExpire));
  }
}
