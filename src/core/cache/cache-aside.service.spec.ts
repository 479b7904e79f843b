import type { Cache } from 'cache-manager';
import { loadConfig } from '../../config/app-config';
import { requestContext } from '../http/request-context';
import { MetricsService } from '../metrics/metrics.service';
import { CacheAside } from './cache-aside.service';

/** An in-memory stand-in for the Keyv store that can be switched off. */
class FakeStore {
  readonly data = new Map<string, unknown>();
  down = false;
  deletes = 0;

  get(key: string): Promise<unknown> {
    return this.down ? Promise.reject(new Error('down')) : Promise.resolve(this.data.get(key));
  }

  set(key: string, value: unknown): Promise<boolean> {
    if (this.down) return Promise.reject(new Error('down'));
    this.data.set(key, value);
    return Promise.resolve(true);
  }

  delete(key: string): Promise<boolean> {
    this.deletes++;
    if (this.down) return Promise.reject(new Error('down'));
    return Promise.resolve(this.data.delete(key));
  }
}

describe('CacheAside', () => {
  let store: FakeStore;
  let cache: CacheAside;

  beforeEach(() => {
    store = new FakeStore();
    cache = new CacheAside({ stores: [store] } as unknown as Cache, loadConfig({}), null, new MetricsService());
  });

  afterEach(() => cache.onModuleDestroy());

  it('loads once on a miss, then serves the cached value', async () => {
    const load = jest.fn().mockResolvedValue({ name: 'a' });
    expect(await cache.get('t', 'k', load)).toEqual({ name: 'a' });
    expect(await cache.get('t', 'k', load)).toEqual({ name: 'a' });
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('reads a key from the store once per request, and again after the request invalidates it', async () => {
    const load = jest.fn().mockResolvedValueOnce({ name: 'a' }).mockResolvedValueOnce({ name: 'b' });
    const reads = jest.spyOn(store, 'get');
    const inRequest = <T>(fn: () => Promise<T>) => requestContext.run({ requestId: 'r', log: null as never }, fn);
    await inRequest(async () => {
      expect(await cache.get('t', 'k', load)).toEqual({ name: 'a' });
      expect(await cache.get('t', 'k', load)).toEqual({ name: 'a' });
      expect(reads).toHaveBeenCalledTimes(1);
      await cache.invalidate('k');
      expect(await cache.get('t', 'k', load)).toEqual({ name: 'b' });
      expect(reads).toHaveBeenCalledTimes(2);
    });
    // another request reads the store again
    await inRequest(async () => expect(await cache.get('t', 'k', load)).toEqual({ name: 'b' }));
    expect(reads).toHaveBeenCalledTimes(3);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('shares one load between concurrent misses of a key', async () => {
    let release!: (value: string) => void;
    const load = jest.fn(() => new Promise<string>((resolve) => (release = resolve)));
    const all = Promise.all(Array.from({ length: 20 }, () => cache.get('t', 'k', load)));
    await new Promise((resolve) => setImmediate(resolve));
    release('v');
    expect(await all).toEqual(Array(20).fill('v'));
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('caches not-found', async () => {
    const load = jest.fn().mockResolvedValue(null);
    expect(await cache.get('t', 'k', load)).toBeNull();
    expect(await cache.get('t', 'k', load)).toBeNull();
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('degrades to the loader while the store is down', async () => {
    store.down = true;
    const load = jest.fn().mockResolvedValue('fresh');
    expect(await cache.get('t', 'k', load)).toBe('fresh');
    expect(await cache.get('t', 'k', load)).toBe('fresh');
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('an invalidation that fails bypasses the key until a retry reaches the store', async () => {
    await cache.get('t', 'k', () => Promise.resolve('old'));
    store.down = true;
    await cache.invalidate('k');
    store.down = false;
    // the store answers again but still holds the old entry: it must not be served
    expect(store.data.has('k')).toBe(true);
    expect(await cache.get('t', 'k', () => Promise.resolve('new'))).toBe('new');
    await waitUntil(() => !store.data.has('k'));
    expect(await cache.get('t', 'k', () => Promise.resolve('newer'))).toBe('newer');
  });

  it('a load that started before an invalidation does not write its stale value back', async () => {
    let release!: (value: string) => void;
    const pending = cache.get('t', 'k', () => new Promise<string>((resolve) => (release = resolve)));
    await new Promise((resolve) => setImmediate(resolve));
    await cache.invalidate('k');
    release('stale');
    expect(await pending).toBe('stale');
    expect(store.data.has('k')).toBe(false);
  });
});

describe('CacheAside after a Redis outage', () => {
  it('does not serve entries cached before the latest outage, on any instance', async () => {
    const store = new FakeStore();
    store.data.set('k', { v: 'cached before the outage', at: 1_000 });
    const listeners = new Map<string, () => void>();
    const redis = {
      isReady: true,
      on: (event: string, listener: () => void) => listeners.set(event, listener),
      // another instance saw Redis come back and published the epoch
      get: () => Promise.resolve(String(Date.now())),
      set: () => Promise.resolve('OK'),
    };
    const cache = new CacheAside({ stores: [store] } as unknown as Cache, loadConfig({}), redis as never, new MetricsService());
    try {
      await waitUntil(() => (cache as unknown as { epoch: number }).epoch > 0);
      expect(await cache.get('t', 'k', () => Promise.resolve('fresh'))).toBe('fresh');
      // what it caches now is trusted again
      expect(await cache.get('t', 'k', () => Promise.resolve('not called'))).toBe('fresh');
    } finally {
      cache.onModuleDestroy();
    }
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
