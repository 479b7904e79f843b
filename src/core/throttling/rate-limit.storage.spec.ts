import { loadConfig } from '../../config/app-config';
import { RateLimitStorage, SlotReservation } from './rate-limit.storage';

describe('RateLimitStorage slots (in memory)', () => {
  let storage: RateLimitStorage;
  const WINDOW = 60_000;

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    storage = new RateLimitStorage(null, loadConfig({}));
  });

  afterEach(() => {
    storage.onModuleDestroy();
    jest.useRealTimers();
  });

  const reserve = (key = 'k', limit = 2) => storage.reserveSlot(key, WINDOW, limit);
  const granted = (r: SlotReservation) => {
    if (!r.granted) throw new Error('expected a slot');
    return r;
  };

  it('grants `limit` slots, then refuses with the wait until the oldest leaves the window', async () => {
    granted(await reserve());
    jest.advanceTimersByTime(10_000);
    granted(await reserve());
    expect(await reserve()).toEqual({ granted: false, retryAfterSeconds: 50 });
    jest.advanceTimersByTime(50_000);
    granted(await reserve());
    expect((await reserve()).granted).toBe(false);
  });

  it('a released slot is free again at once; keys are independent', async () => {
    const first = granted(await reserve());
    granted(await reserve());
    expect((await reserve()).granted).toBe(false);
    granted(await reserve('other'));
    await first.release();
    granted(await reserve());
    expect((await reserve()).granted).toBe(false);
  });

  it('refused attempts hold no slot', async () => {
    granted(await reserve('k', 1));
    for (let i = 0; i < 5; i++) expect((await reserve('k', 1)).granted).toBe(false);
    jest.advanceTimersByTime(WINDOW);
    granted(await reserve('k', 1));
  });

  it('the sweep forgets keys whose slots all left the window', async () => {
    granted(await reserve('swept'));
    expect(storage.memoryKeys()).toEqual(['app:rl:swept']);
    jest.advanceTimersByTime(2 * WINDOW);
    expect(storage.memoryKeys()).toEqual([]);
  });
});
