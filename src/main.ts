import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { existsSync } from 'node:fs';
import { createApp } from './app.factory';
import { ConfigError, loadConfig } from './config/app-config';
import { createRootLogger } from './core/logging/root-logger';
import type { Logger } from 'pino';

const SHUTDOWN_DEADLINE_MS = 10_000;
/** How long the stop waits for handlers whose clients have gone, within the deadline above. */
const HANDLER_DRAIN_MS = 8_000;

async function bootstrap(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig(process.env);
  const logger = createRootLogger(config.logLevel);
  const app = await createApp(config, { logger });

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    setTimeout(() => {
      logger.error('shutdown deadline passed; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    stop(app, logger).then(
      () => {
        logger.info('shutdown complete');
        logger.flush();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);

  await app.listen({ port: config.port, host: config.host });
  logger.info({ url: await app.getUrl(), docs: `${await app.getUrl()}/docs` }, 'listening');
}

/**
 * HTTP first, then the rest. Closing Fastify stops accepting connections and lets the requests
 * in flight finish while the database, Redis and the cache are still open (Nest's own close runs
 * the modules' destroy hooks, which close the cache store and with it Redis, before it closes
 * the HTTP server: a write finishing after that could not invalidate its cache entry).
 *
 * The close waits for every socket. One whose request was in flight is answered with
 * `Connection: close` (core/http/request-hooks.ts); one whose answer was already being written
 * when the close began is closed here as soon as that answer is out, rather than at
 * HTTP_KEEP_ALIVE_TIMEOUT.
 */
async function stop(app: NestFastifyApplication, logger: Logger): Promise<void> {
  const server = app.getHttpServer();
  const fastify = app.getHttpAdapter().getInstance();
  const closeIdle = () => setImmediate(() => server.closeIdleConnections());
  subscribe('http.server.response.finish', closeIdle);
  try {
    await fastify.close();
  } finally {
    unsubscribe('http.server.response.finish', closeIdle);
  }
  // the sockets are gone, but a handler whose client disconnected may still be running (a
  // transfer waiting on a row lock): it finishes against an open database, not a closed pool
  let drained = false;
  await Promise.race([
    fastify.requests.whenHandled().then(() => (drained = true)),
    new Promise((resolve) => setTimeout(resolve, HANDLER_DRAIN_MS).unref()),
  ]);
  if (!drained) logger.warn({ inFlight: fastify.requests.inFlight }, 'requests still being handled; closing the database under them');
  await app.close();
}

bootstrap().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    createRootLogger('info').fatal({ err: error }, 'failed to start');
  }
  process.exit(1);
});
