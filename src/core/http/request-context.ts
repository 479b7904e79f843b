import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'pino';

export interface RequestContext {
  requestId: string;
  /** The authenticated caller's id, set by the access guard once it knows it (domain events carry it). */
  actorId?: string;
  /** The request's child logger: every line it writes carries `requestId`. */
  log: Logger;
  /**
   * Cache reads this request has made (`CacheAside`), by key: a second read of one key in the
   * same request (the access check, then the handler) costs nothing. Made on first use.
   */
  cacheMemo?: Map<string, Promise<unknown>>;
}

/**
 * Carries the current request through async calls, so code far from the controller
 * (a service, a repository, the Nest logger) logs with the right request id.
 */
export const requestContext = new AsyncLocalStorage<RequestContext>();

/** Accepted inbound `X-Request-Id` values (the contract's pattern). */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
