import { CallHandler, ExecutionContext, Injectable, NestInterceptor, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { map, Observable } from 'rxjs';
import { meta } from './envelope';
import { CursorPage, OffsetPage } from './pagination';

export const RAW_RESPONSE = 'app:raw-response';

/** The handler's result is sent as it is, without the envelope (`/metrics`'s text). */
export const RawResponse = (): MethodDecorator & ClassDecorator => SetMetadata(RAW_RESPONSE, true);

/**
 * The one place a success envelope is made, registered as the global interceptor
 * (`APP_INTERCEPTOR`): `{ data, meta }` for every route but `@RawResponse()` ones. Lists
 * returned as `OffsetPage` / `CursorPage` add `meta.pagination` / `meta.cursor`; a handler that
 * returns nothing (204) stays bodiless. Error envelopes are made by the exception filter.
 *
 * Whether a route is raw is read once per handler, not per request.
 */
@Injectable()
export class EnvelopeInterceptor implements NestInterceptor {
  private readonly raw = new WeakMap<object, boolean>();

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (this.isRaw(context)) return next.handle();
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    return next.handle().pipe(map((result: unknown) => envelope(result, request.id)));
  }

  private isRaw(context: ExecutionContext): boolean {
    const handler = context.getHandler();
    let raw = this.raw.get(handler);
    if (raw === undefined) {
      raw = Reflect.getMetadata(RAW_RESPONSE, handler) === true || Reflect.getMetadata(RAW_RESPONSE, context.getClass()) === true;
      this.raw.set(handler, raw);
    }
    return raw;
  }
}

export function envelope(result: unknown, requestId: string): unknown {
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
