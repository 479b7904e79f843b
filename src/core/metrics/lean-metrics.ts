import { Counter, type Metric, type Registry } from 'prom-client';

/** One label set's observations. */
interface Series {
  labels: Record<string, string>;
  /** Observations per bucket (not cumulative); the last slot is above every bound (+Inf). */
  counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram for the request path. prom-client's `observe()` validates the labels,
 * hashes them and copies objects on every call (about 1 µs, a few per cent of a cached read);
 * here a series is found by one Map lookup under a key the caller builds, and an observation is
 * a bucket search and three additions. The exposition is prom-client's: the registry formats
 * what `get()` returns exactly as it formats its own histograms (`name_bucket{le}`, cumulative,
 * `+Inf`, `name_sum`, `name_count`).
 */
export class LeanHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** `key` identifies the label set (the caller's own cheap concatenation); `labels` is called once per new key. */
  observe(key: string, labels: () => Record<string, string>, value: number): void {
    let series = this.series.get(key);
    if (!series) {
      series = { labels: labels(), counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    let bucket = 0;
    while (bucket < this.bounds.length && value > this.bounds[bucket]!) bucket++;
    series.counts[bucket]!++;
    series.sum += value;
    series.count++;
  }

  /** What prom-client's registry reads at scrape time. */
  get() {
    const values: Array<{ value: number; labels: Record<string, string | number>; metricName: string }> = [];
    for (const { labels, counts, sum, count } of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += counts[i]!;
        values.push({ value: cumulative, labels: { le, ...labels }, metricName: `${this.name}_bucket` });
      });
      values.push({ value: count, labels: { le: '+Inf', ...labels }, metricName: `${this.name}_bucket` });
      values.push({ value: sum, labels, metricName: `${this.name}_sum` });
      values.push({ value: count, labels, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series.clear();
  }
}

/**
 * A counter incremented on the request path as a plain number; prom-client's `Counter` is filled
 * from those numbers when the registry is scraped (its `collect` hook), so exposition, types and
 * `/metrics` stay prom-client's own.
 */
export class LeanCounter {
  private readonly totals = new Map<string, { labels: Record<string, string>; value: number }>();

  constructor(name: string, help: string, labelNames: readonly string[], registry: Registry) {
    const totals = this.totals;
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const { labels, value } of totals.values()) this.inc(labels, value);
      },
    });
  }

  inc(key: string, labels: () => Record<string, string>): void {
    const total = this.totals.get(key);
    if (total) total.value++;
    else this.totals.set(key, { labels: labels(), value: 1 });
  }
}
