import { Counter, Histogram, Registry } from 'prom-client';
import { LeanCounter, LeanHistogram } from './lean-metrics';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const OBSERVATIONS: Array<[string, string, number, number]> = [
  ['GET', '/api/v1/users/:id', 200, 0.0004],
  ['GET', '/api/v1/users/:id', 200, 0.001], // on a bound: counted in that bucket (le is "less or equal")
  ['GET', '/api/v1/users/:id', 200, 0.05],
  ['GET', '/api/v1/users/:id', 404, 2],
  ['POST', '/api/v1/transfers', 201, 0.02],
  ['GET', 'unmatched', 404, 0.0001],
];

describe('lean metrics', () => {
  it('a LeanHistogram exposes exactly what a prom-client Histogram exposes for the same observations', async () => {
    const reference = new Registry();
    const histogram = new Histogram({
      name: 'h_seconds',
      help: 'help text',
      labelNames: ['method', 'route', 'status_code'],
      buckets: BUCKETS,
      registers: [reference],
    });
    const lean = new Registry();
    const leanHistogram = new LeanHistogram('h_seconds', 'help text', BUCKETS, lean);
    for (const [method, route, status, seconds] of OBSERVATIONS) {
      histogram.observe({ method, route, status_code: status }, seconds);
      leanHistogram.observe(`${method} ${status} ${route}`, () => ({ method, route, status_code: String(status) }), seconds);
    }
    expect(await lean.metrics()).toBe(await reference.metrics());
  });

  it('a LeanCounter exposes exactly what a prom-client Counter exposes, at every scrape', async () => {
    const reference = new Registry();
    const counter = new Counter({ name: 'c_total', help: 'help text', labelNames: ['cache', 'result'], registers: [reference] });
    const lean = new Registry();
    const leanCounter = new LeanCounter('c_total', 'help text', ['cache', 'result'], lean);
    const count = (cache: string, result: string) => {
      counter.inc({ cache, result });
      leanCounter.inc(`${cache} ${result}`, () => ({ cache, result }));
    };
    count('user', 'hit');
    count('user', 'hit');
    count('user', 'miss');
    expect(await lean.metrics()).toBe(await reference.metrics());
    count('user', 'hit');
    count('account', 'error');
    expect(await lean.metrics()).toBe(await reference.metrics());
  });
});
