import type { DynamicModule, Type } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Logger } from 'pino';
import { createApp } from '../../src/app.factory';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { createRootLogger } from '../../src/core/logging/root-logger';
import { IsolatedEnv } from './isolated-env';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  request(options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Environment on top of the isolated one (e.g. `{ RATE_LIMIT: '3' }`). */
  env?: Record<string, string>;
  logger?: Logger;
  extraModules?: Array<Type<unknown> | DynamicModule>;
}

/** The real application (same factory as main.ts) on this test file's own database and key space. */
export async function startTestApp(isolated: IsolatedEnv, options: TestAppOptions = {}): Promise<TestApp> {
  // rate limits are off unless a test turns them on, so suites don't trip over each other's counts
  const config = loadConfig({ RATE_LIMIT: '0', AUTH_RATE_LIMIT: '0', ...isolated.env, ...options.env });
  const app = await createApp(config, {
    logger: options.logger ?? createRootLogger('silent'),
    extraModules: options.extraModules,
  });
  const fastify = app.getHttpAdapter().getInstance();
  await fastify.ready();
  return {
    app,
    config,
    request: (injectOptions) => fastify.inject(injectOptions),
    close: () => app.close(),
  };
}

/** The JSON body of a response. */
export function json<T = Record<string, any>>(response: LightMyRequestResponse): T {
  return JSON.parse(response.body) as T;
}
