import { DynamicModule, Global, Inject, Module } from '@nestjs/common';
import type { Logger } from 'pino';

export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/** Injects the root pino logger (prefer Nest's `Logger`, which follows the request context). */
export const InjectRootLogger = (): ParameterDecorator => Inject(ROOT_LOGGER);

@Global()
@Module({})
export class LoggingModule {
  static forRoot(logger: Logger): DynamicModule {
    return { module: LoggingModule, providers: [{ provide: ROOT_LOGGER, useValue: logger }], exports: [ROOT_LOGGER] };
  }
}
