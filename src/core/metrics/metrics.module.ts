import { Global, Module } from '@nestjs/common';
import { DbPoolMetrics } from './db-pool.metrics';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

@Global()
@Module({
  controllers: [MetricsController],
  providers: [MetricsService, DbPoolMetrics],
  exports: [MetricsService],
})
export class MetricsModule {}
