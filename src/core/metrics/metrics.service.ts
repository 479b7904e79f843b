import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process's Prometheus registry. One registry per application instance (not prom-client's
 * global one), so tests can run several apps in one process.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly cacheRequests = new Counter({
    name: 'cache_requests_total',
    help: 'Cache look-ups by cache name and result (hit, miss, error)',
    labelNames: ['cache', 'result'] as const,
    registers: [this.registry],
  });

  readonly dbPoolConnections = new Gauge({
    name: 'db_pool_connections',
    help: 'Database pool connections by state (total, idle, waiting requests)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Labelled children made once per label set and kept: `observe({ labels })` would hash the
   * label object on every call. The sets are bounded: methods × route templates × statuses.
   */
  private readonly requestSeries = new Map<string, Histogram.Internal<'method' | 'route' | 'status_code'>>();
  private readonly cacheSeries = new Map<string, Counter.Internal>();

  observeRequest(method: string, route: string, statusCode: number, seconds: number): void {
    const key = `${method} ${statusCode} ${route}`;
    let series = this.requestSeries.get(key);
    if (!series) {
      series = this.httpDuration.labels(method, route, String(statusCode));
      this.requestSeries.set(key, series);
    }
    series.observe(seconds);
  }

  countCacheRequest(cache: string, result: 'hit' | 'miss' | 'error'): void {
    const key = `${cache} ${result}`;
    let series = this.cacheSeries.get(key);
    if (!series) {
      series = this.cacheRequests.labels(cache, result);
      this.cacheSeries.set(key, series);
    }
    series.inc();
  }
}
