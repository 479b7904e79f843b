import { Injectable } from '@nestjs/common';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { LeanCounter, LeanHistogram } from './lean-metrics';

/**
 * The process's Prometheus registry. One registry per application instance (not prom-client's
 * global one), so tests can run several apps in one process.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  /** Request durations (observed on every answer; see LeanHistogram for why not prom-client's). */
  private readonly httpDuration = new LeanHistogram(
    'http_request_duration_seconds',
    'HTTP request duration by method, route template and status code',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    this.registry,
  );

  private readonly cacheRequests = new LeanCounter(
    'cache_requests_total',
    'Cache look-ups by cache name and result (hit, miss, error)',
    ['cache', 'result'],
    this.registry,
  );

  readonly dbPoolConnections = new Gauge({
    name: 'db_pool_connections',
    help: 'Database pool connections by state (total, idle, waiting requests)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  observeRequest(method: string, route: string, statusCode: number, seconds: number): void {
    this.httpDuration.observe(`${method} ${statusCode} ${route}`, () => ({ method, route, status_code: String(statusCode) }), seconds);
  }

  countCacheRequest(cache: string, result: 'hit' | 'miss' | 'error'): void {
    this.cacheRequests.inc(`${cache} ${result}`, () => ({ cache, result }));
  }
}
