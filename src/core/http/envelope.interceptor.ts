import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { Observable, map } from 'rxjs';
import { meta } from './envelope';
import { CursorPage, OffsetPage } from './pagination';
import { RAW_RESPONSE } from './raw-response.decorator';

/** Wraps every successful result as `{ data, meta }`; `undefined` (204) stays bodiless. */
@Injectable()
export class EnvelopeInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (this.reflector.getAllAndOverride<boolean>(RAW_RESPONSE, [context.getHandler(), context.getClass()])) {
      return next.handle();
    }
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    return next.handle().pipe(map((result: unknown) => envelope(result, request.id)));
  }
}

function envelope(result: unknown, requestId: string): unknown {
  if (result === undefined) return undefined;
  if (result instanceof OffsetPage) {
    const { page, pageSize, total, totalPages } = result;
    return { data: result.items, meta: { ...meta(requestId), pagination: { page, pageSize, total, totalPages } } };
  }
  if (result instanceof CursorPage) {
    return { data: result.items, meta: { ...meta(requestId), cursor: { next: result.next, limit: result.limit } } };
  }
  return { data: result, meta: meta(requestId) };
}
