import { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { FastifyBaseLogger, FastifyInstance, LogController } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Bindings, ChildLoggerOptions, Logger } from 'pino';
import { AppModule } from './app.module';
import { AppConfig } from './config/app-config';
import { registerEnvelopeHook } from './core/http/envelope.hook';
import { REQUEST_ID_PATTERN, requestContext } from './core/http/request-context';
import { securityHeaders } from './core/http/security-headers';
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
    return503OnClosing: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, logger, options.extraModules),
    adapter,
    // bodyParser: false keeps Fastify's own JSON parser only (Nest would add form bodies)
    { logger: new AppLogger(logger), abortOnError: false, bodyParser: false },
  );
  const fastify = app.getHttpAdapter().getInstance();
  registerRequestHooks(fastify, app.get(MetricsService), logger);
  registerEnvelopeHook(fastify);
  // only JSON bodies are accepted: anything else is 415, not a string handed to a DTO
  fastify.removeContentTypeParser('text/plain');

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

/** Security headers, request id header, request context for every log line, one access-log line and metrics per request. */
function registerRequestHooks(fastify: FastifyInstance, metrics: MetricsService, logger: Logger): void {
  const headers = securityHeaders();
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.headers(headers).header('X-Request-Id', request.id);
    requestContext.run({ requestId: request.id, log: request.log as Logger }, done);
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const durationMs = reply.elapsedTime;
    metrics.observeRequest(request.method, route, reply.statusCode, durationMs / 1000);
    if (logger.isLevelEnabled('info')) {
      logger.info(
        {
          requestId: request.id,
          method: request.method,
          route,
          status: reply.statusCode,
          durationMs: Math.round(durationMs * 100) / 100,
        },
        'request completed',
      );
    }
    done();
  });
}
