import type { FastifyError, FastifyServerOptions } from 'fastify';
import { randomUUID } from 'node:crypto';
import { IncomingMessage, Server, ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { AppError, BadRequestError, HeadersTooLargeError, RequestTimeoutError, UriTooLongError } from '../errors/app-error';
import { toAppError } from '../errors/to-app-error';
import { AccessLog } from './access-log';
import { EdgeHeaders } from './edge-headers';
import { errorEnvelope } from './envelope';
import { sendErrorEnvelope } from './error-reply';

type RefusalOptions = Required<Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler'>>;

/**
 * The answers Fastify and Node give before any hook or Nest code runs, made error envelopes
 * with a contract code, a request id and our headers like every other answer:
 * - `frameworkErrors`: the router refuses a path it cannot decode (`%E0%A4%A`: 400) or a
 *   parameter longer than `maxParamLength` (414 `URI_TOO_LONG`);
 * - `clientErrorHandler`: Node's HTTP parser refuses the bytes (400), the request line and
 *   headers overflow `maxHeaderSize` (431 `HEADERS_TOO_LARGE`), or the request did not arrive
 *   within `requestTimeout` (408 `REQUEST_TIMEOUT`). There is no request object here (nothing
 *   was parsed), so the answer is written to the socket, which is then closed.
 */
export function fastifyRefusalOptions(edge: EdgeHeaders, access: AccessLog): RefusalOptions {
  return {
    frameworkErrors: (error, request, reply) => {
      const started = performance.now();
      const refusal = routerRefusal(error);
      logRefusal(request.log as Logger, error, refusal);
      edge.apply(request, reply);
      reply.raw.once('finish', () =>
        access.record({
          requestId: request.id,
          method: request.method,
          route: 'unmatched',
          status: refusal.status,
          durationMs: performance.now() - started,
        }),
      );
      sendErrorEnvelope(request, reply, refusal);
    },
    clientErrorHandler: (error, socket) => answerClientError(error, socket, edge, access),
  };
}

/**
 * Node answers a request whose `Expect` is not `100-continue` with a bare 417 unless someone
 * listens. RFC 9110 §10.1.1 lets a server ignore an expectation it does not know: the request
 * is handled like any other (so its answer is an envelope too).
 */
export function ignoreUnknownExpectations(server: Server): void {
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => server.emit('request', request, response));
}

function routerRefusal(error: FastifyError): AppError {
  switch (error.code) {
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new UriTooLongError();
    case 'FST_ERR_BAD_URL':
      return new BadRequestError('The request path is not valid (bad percent-encoding)');
    default:
      return toAppError(error);
  }
}

function logRefusal(log: Logger, error: FastifyError, refusal: AppError): void {
  if (refusal.status >= 500) log.error({ code: refusal.code, status: refusal.status, err: error }, 'unhandled error');
  else log.debug({ code: refusal.code, status: refusal.status }, refusal.message);
}

/** An in-flight response, if Node has one on this socket (a pipelined request's). */
type HttpSocket = Socket & { encrypted?: boolean; _httpMessage?: { headersSent: boolean } | null };

function answerClientError(error: Error & { code?: string }, socket: HttpSocket, edge: EdgeHeaders, access: AccessLog): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const refusal = clientRefusal(error.code);
  const requestId = randomUUID();
  // as Node's own handler: never write into a response that has already started
  if (socket.writable && !socket._httpMessage?.headersSent) {
    const body = JSON.stringify(errorEnvelope(refusal, requestId));
    const headers: Record<string, string> = {
      ...edge.security(socket.encrypted === true),
      'X-Request-Id': requestId,
      'Cache-Control': 'no-store',
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
      Connection: 'close',
    };
    const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
    socket.write(`HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\n${head.join('')}\r\n${body}`);
  }
  // the error's rawPacket holds the request's bytes (headers, tokens): never logged
  access.record({ requestId, method: 'UNKNOWN', route: 'unparsed', status: refusal.status, durationMs: 0 });
  socket.destroy(error);
}

function clientRefusal(code: string | undefined): AppError {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new RequestTimeoutError();
  if (code === 'HPE_HEADER_OVERFLOW') return new HeadersTooLargeError();
  return new BadRequestError('The request is not valid HTTP');
}
