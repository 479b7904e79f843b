import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from '../auth/auth.decorators';
import { RawResponse } from '../http/envelope.interceptor';
import { DbPoolStats } from '../database/db-pool.stats';
import { MetricsService } from './metrics.service';

@ApiExcludeController()
@Public()
@SkipThrottle()
@RawResponse()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly dbPool: DbPoolStats,
  ) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    const pool = this.dbPool.read();
    for (const [state, value] of Object.entries(pool)) this.metrics.dbPoolConnections.set({ state }, value as number);
    return this.metrics.registry.metrics();
  }
}
