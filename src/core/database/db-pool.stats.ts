import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

interface Mysql2PoolInternals {
  _allConnections?: { length: number };
  _freeConnections?: { length: number };
  _connectionQueue?: { length: number };
}

export interface PoolStats {
  total: number;
  idle?: number;
  waiting?: number;
}

/** The connection pool's state, read on demand (mysql2 keeps no counters to subscribe to). */
@Injectable()
export class DbPoolStats {
  constructor(private readonly dataSource: DataSource) {}

  read(): PoolStats {
    if (this.dataSource.options.type !== 'mysql') {
      return { total: this.dataSource.isInitialized ? 1 : 0 }; // better-sqlite3: one connection
    }
    const pool = (this.dataSource.driver as unknown as { pool?: Mysql2PoolInternals }).pool;
    return {
      total: pool?._allConnections?.length ?? 0,
      idle: pool?._freeConnections?.length ?? 0,
      waiting: pool?._connectionQueue?.length ?? 0,
    };
  }
}
