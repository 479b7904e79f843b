import { loadConfig } from '../../config/app-config';
import { KeyRing } from '../crypto/key-ring';
import { RateLimitedError } from '../errors/app-error';
import { LoginFailureLimiter } from './login-failure.limiter';
import { RateLimitStorage } from './rate-limit.storage';

describe('LoginFailureLimiter', () => {
  let storage: RateLimitStorage;

  afterEach(() => storage.onModuleDestroy());

  const limiter = (env: Record<string, string> = {}) => {
    const config = loadConfig({ AUTH_RATE_LIMIT: '2', APP_SECRET: 'a'.repeat(32), ...env });
    storage = new RateLimitStorage(null, config);
    return new LoginFailureLimiter(storage, new KeyRing(config), config);
  };

  it('counts failures per canonical email and refuses with 429 once they are used up', async () => {
    const limits = limiter();
    await limits.begin('Ada@Example.com');
    await limits.begin('  ada@example.com ');
    await expect(limits.begin('ADA@example.com')).rejects.toBeInstanceOf(RateLimitedError);
    await expect(limits.begin('ádà@example.com')).resolves.toBeDefined();
  });

  it('an attempt that releases its slot does not count', async () => {
    const limits = limiter();
    for (let i = 0; i < 10; i++) await (await limits.begin('ada@example.com')).release();
    await limits.begin('ada@example.com');
    await limits.begin('ada@example.com');
    await expect(limits.begin('ada@example.com')).rejects.toBeInstanceOf(RateLimitedError);
  });

  it('keys by a keyed hash of the address, never the address', async () => {
    await limiter().begin('Ada.Lovelace@example.com');
    const [key] = storage.memoryKeys();
    expect(key).toMatch(/^app:rl:login-failures:[0-9a-f]{64}$/);
    // another secret, another key: the key cannot be recomputed from the address alone
    const otherConfig = loadConfig({ AUTH_RATE_LIMIT: '2', APP_SECRET: 'b'.repeat(32) });
    const other = new LoginFailureLimiter(storage, new KeyRing(otherConfig), otherConfig);
    await other.begin('Ada.Lovelace@example.com');
    expect(storage.memoryKeys()).toHaveLength(2);
  });

  it('AUTH_RATE_LIMIT=0 counts nothing', async () => {
    const limits = limiter({ AUTH_RATE_LIMIT: '0' });
    for (let i = 0; i < 10; i++) await limits.begin('ada@example.com');
    expect(storage.memoryKeys()).toEqual([]);
  });
});
