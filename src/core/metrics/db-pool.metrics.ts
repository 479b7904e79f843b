import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MetricsService } from './metrics.service';

interface Mysql2PoolInternals {
  _allConnections?: { length: number };
  _freeConnections?: { length: number };
  _connectionQueue?: { length: number };
}

/** Reads the pool's state at scrape time (mysql2 keeps no counters we could subscribe to). */
@Injectable()
export class DbPoolMetrics {
  constructor(
    private readonly dataSource: DataSource,
    private readonly metrics: MetricsService,
  ) {}

  update(): void {
    const gauge = this.metrics.dbPoolConnections;
    if (this.dataSource.options.type !== 'mysql') {
      // better-sqlite3: one synchronous connection
      gauge.set({ state: 'total' }, this.dataSource.isInitialized ? 1 : 0);
      return;
    }
    const pool = (this.dataSource.driver as unknown as { pool?: Mysql2PoolInternals }).pool;
    gauge.set({ state: 'total' }, pool?._allConnections?.length ?? 0);
    gauge.set({ state: 'idle' }, pool?._freeConnections?.length ?? 0);
    gauge.set({ state: 'waiting' }, pool?._connectionQueue?.length ?? 0);
  }
}
