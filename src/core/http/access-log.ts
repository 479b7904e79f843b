import type { Logger } from 'pino';
import type { MetricsService } from '../metrics/metrics.service';

export interface AccessEntry {
  requestId: string;
  method: string;
  /** The route template (`/api/v1/users/:id`), `unmatched`, or `unparsed` for a request Node could not parse. */
  route: string;
  status: number;
  durationMs: number;
}

/**
 * One access-log line and one duration sample per answer, including the answers Fastify gives
 * before the request reaches a route (which skip `onResponse`). The metrics service exists only
 * once Nest has started, after the Fastify instance is configured: it is attached then.
 */
export class AccessLog {
  private metrics: MetricsService | null = null;

  constructor(private readonly logger: Logger) {}

  attach(metrics: MetricsService): void {
    this.metrics = metrics;
  }

  record(entry: AccessEntry): void {
    this.metrics?.observeRequest(entry.method, entry.route, entry.status, entry.durationMs / 1000);
    if (this.logger.isLevelEnabled('info')) {
      this.logger.info({ ...entry, durationMs: Math.round(entry.durationMs * 100) / 100 }, 'request completed');
    }
  }
}
