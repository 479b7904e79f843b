import type { FastifyInstance } from 'fastify';
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
 */
export function registerRequestHooks(fastify: FastifyInstance, edge: EdgeHeaders, access: AccessLog): void {
  let closing = false;
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
    requestContext.run({ requestId: request.id, log: request.log as Logger }, done);
  });
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('Connection', 'close');
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
}
