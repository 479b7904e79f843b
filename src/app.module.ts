import { DynamicModule, Module, Type } from '@nestjs/common';
import type { Logger } from 'pino';
import { AppConfig } from './config/app-config';
import { CoreModule } from './core/core.module';

/** The application: the shared core plus every feature module. */
@Module({})
export class AppModule {
  /** `extraModules` lets tests mount probe routes beside the real ones. */
  static forRoot(config: AppConfig, logger: Logger, extraModules: Array<Type<unknown> | DynamicModule> = []): DynamicModule {
    return {
      module: AppModule,
      imports: [CoreModule.forRoot(config, logger), ...extraModules],
    };
  }
}
