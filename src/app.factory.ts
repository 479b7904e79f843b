import { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { FastifyBaseLogger, LogController } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Bindings, ChildLoggerOptions, Logger } from 'pino';
import { AppModule } from './app.module';
import { AppConfig } from './config/app-config';
import { AccessLog } from './core/http/access-log';
import { EdgeHeaders } from './core/http/edge-headers';
import { fastifyRefusalOptions, ignoreUnknownExpectations } from './core/http/fastify-refusals';
import { registerJsonBodyParser } from './core/http/json-body';
import { REQUEST_ID_PATTERN } from './core/http/request-context';
import { registerRequestHooks } from './core/http/request-hooks';
import { AppLogger } from './core/logging/app-logger';
import { lazyChildLogger } from './core/logging/lazy-child-logger';
import { createRootLogger } from './core/logging/root-logger';
import { MetricsService } from './core/metrics/metrics.service';
import { setupSwagger } from './core/swagger/swagger.setup';

export const API_PREFIX = 'api/v1';

export interface CreateAppOptions {
  /** Defaults to a pino logger on stdout at `config.logLevel`. */
  logger?: Logger;
  /** Extra modules mounted beside the real ones (tests use this for probe routes). */
  extraModules?: Array<Type<unknown> | DynamicModule>;
}

/**
 * Builds the fully configured application without listening: main.ts and the e2e tests
 * share this, so tests exercise exactly what production runs.
 */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const logger = options.logger ?? createRootLogger(config.logLevel);
  const edge = new EdgeHeaders();
  const access = new AccessLog(logger);
  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    childLoggerFactory: (parent: FastifyBaseLogger, bindings: Bindings, childOptions: ChildLoggerOptions) =>
      lazyChildLogger(parent as Logger, bindings, childOptions),
    // one access-log line per request is written by our onResponse hook instead
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    genReqId: requestIdOf,
    bodyLimit: config.bodyLimit,
    // Fastify accepts a hop count at run time; its types omit it
    trustProxy: config.trustProxy as boolean | string | string[],
    // the 503 of a closing server is our envelope (core/http/request-hooks.ts), not Fastify's body
    return503OnClosing: false,
    ...fastifyRefusalOptions(edge, access),
    ...serverTimeouts(config),
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, logger, options.extraModules),
    adapter,
    // bodyParser: false keeps Fastify's own JSON parser only (Nest would add form bodies)
    { logger: new AppLogger(logger), abortOnError: false, bodyParser: false },
  );
  const fastify = app.getHttpAdapter().getInstance();
  access.attach(app.get(MetricsService));
  const requests = registerRequestHooks(fastify, edge, access);
  fastify.decorate('requests', requests);
  // only JSON bodies are accepted: anything else is 415, not a string handed to a DTO
  fastify.removeContentTypeParser('text/plain');
  registerJsonBodyParser(fastify);
  ignoreUnknownExpectations(fastify.server);

  app.setGlobalPrefix(API_PREFIX, { exclude: ['health/live', 'health/ready', 'metrics'] });
  if (config.corsOrigins) {
    app.enableCors({
      origin: config.corsOrigins.includes('*') ? true : config.corsOrigins,
      exposedHeaders: ['X-Request-Id', 'Retry-After', 'Idempotent-Replayed'],
      maxAge: 600,
    });
  }
  setupSwagger(app);
  await app.init();
  return app;
}

function requestIdOf(request: IncomingMessage): string {
  const inbound = request.headers['x-request-id'];
  return typeof inbound === 'string' && REQUEST_ID_PATTERN.test(inbound) ? inbound : randomUUID();
}

/**
 * Fastify turns Node's request timeout off (0) and keeps idle sockets 72 s: a client sending
 * its body slowly could hold a connection for ever. Node checks the request and header timeouts
 * every `connectionsCheckingInterval` (30 s by default, which would let a 1 s bound run to 31 s):
 * here every tenth of the bound, between 0.1 and 5 s.
 */
function serverTimeouts(config: AppConfig) {
  const { requestSeconds, keepAliveSeconds, connectionSeconds } = config.httpTimeouts;
  const requestTimeout = requestSeconds * 1000;
  return {
    requestTimeout,
    keepAliveTimeout: keepAliveSeconds * 1000,
    connectionTimeout: connectionSeconds * 1000,
    http: {
      requestTimeout,
      headersTimeout: requestTimeout,
      connectionsCheckingInterval: Math.min(5000, Math.max(100, requestTimeout / 10)),
    },
  };
}
