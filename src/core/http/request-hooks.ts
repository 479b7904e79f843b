import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ServiceUnavailableError } from '../errors/app-error';
import { AccessLog } from './access-log';
import { EdgeHeaders } from './edge-headers';
import { sendErrorEnvelope } from './error-reply';
import { requestContext } from './request-context';

/**
 * Per request: our headers, the request context every log line reads, one access-log line and
 * one duration sample. Once the server is closing (Fastify's `preClose`, the moment its own
 * `return503OnClosing` would start), a request that still arrives on a kept-alive connection
 * is answered 503 `SERVICE_UNAVAILABLE` with `Connection: close`: an envelope, where Fastify's
 * own answer is not. A request already in flight then is answered with `Connection: close` too:
 * otherwise its socket stays open, idle, until HTTP_KEEP_ALIVE_TIMEOUT, and so does the close.
 *
 * Requests are counted from `onRequest` until their answer is handed to Fastify (`onSend`, which
 * runs even when the client has gone): `whenHandled()` resolves once none is left. Closing the
 * server waits for sockets only, and a client that disconnects takes its socket away while its
 * handler still runs (a transfer waiting on a lock, say); the shutdown waits for those handlers
 * too before it closes the database under them.
 */
export function registerRequestHooks(fastify: FastifyInstance, edge: EdgeHeaders, access: AccessLog): RequestTracker {
  let closing = false;
  const tracker = new RequestTracker();
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    edge.apply(request, reply);
    if (closing) {
      void reply.header('Connection', 'close');
      sendErrorEnvelope(request, reply, new ServiceUnavailableError('The service is shutting down, retry later'));
      return;
    }
    tracker.started(request);
    requestContext.run({ requestId: request.id, log: request.log as Logger }, done);
  });
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (closing) void reply.header('Connection', 'close');
    tracker.handled(request);
    done(null, payload);
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    access.record({
      requestId: request.id,
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      durationMs: reply.elapsedTime,
    });
    done();
  });
  return tracker;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The requests being handled (see `registerRequestHooks`). */
    requests: RequestTracker;
  }
}

const COUNTED = Symbol('app.requestCounted');

/** Requests whose handler has not answered yet. */
export class RequestTracker {
  private count = 0;
  private waiting: Array<() => void> = [];

  started(request: FastifyRequest): void {
    (request as FastifyRequest & { [COUNTED]?: boolean })[COUNTED] = true;
    this.count++;
  }

  handled(request: FastifyRequest): void {
    const slot = request as FastifyRequest & { [COUNTED]?: boolean };
    if (!slot[COUNTED]) return;
    slot[COUNTED] = false;
    if (--this.count === 0) for (const resolve of this.waiting.splice(0)) resolve();
  }

  get inFlight(): number {
    return this.count;
  }

  /** Resolves when no request is being handled (at once if none is). */
  whenHandled(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.waiting.push(resolve));
  }
}
