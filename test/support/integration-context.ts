import { DynamicModule, INestApplicationContext, Module, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '../../src/config/app-config';
import { ConfigModule } from '../../src/config/config.module';
import { DatabaseCoreModule } from '../../src/core/database/database-core.module';
import { DatabaseModule } from '../../src/core/database/database.module';
import { createRootLogger } from '../../src/core/logging/root-logger';
import { OutboxModule } from '../../src/core/outbox/outbox.module';
import { RedisModule } from '../../src/core/redis/redis.module';
import { IsolatedEnv } from './isolated-env';

/**
 * The database core without HTTP (or any feature module): configuration, the DataSource with the
 * migrations applied, the unit of work, Redis when configured, the outbox. For repository
 * integration tests (`test/integration`).
 */
export async function startDatabaseContext(
  isolated: IsolatedEnv,
  extra: Array<Type<unknown> | DynamicModule> = [],
  env: Record<string, string> = {},
): Promise<INestApplicationContext> {
  const config = loadConfig({ ...isolated.env, ...env });
  const logger = createRootLogger('silent');

  @Module({
    imports: [
      ConfigModule.forRoot(config),
      DatabaseModule.forRoot(config, logger),
      DatabaseCoreModule,
      RedisModule,
      OutboxModule,
      ...extra,
    ],
  })
  class IntegrationRoot {}

  const context = await NestFactory.createApplicationContext(IntegrationRoot, { logger: false });
  return context.init();
}
