import { hkdfSync } from 'node:crypto';
import { loadConfig } from '../../config/app-config';
import { KeyRing } from './key-ring';

describe('KeyRing', () => {
  const ring = (env: Record<string, string>) => new KeyRing(loadConfig(env));

  it('derives a stable 256-bit key per purpose from APP_SECRET (HKDF-SHA256)', () => {
    const a = ring({ APP_SECRET: 'master-secret' });
    const key = a.key('cursor:users');
    expect(key).toHaveLength(32);
    expect(ring({ APP_SECRET: 'master-secret' }).key('cursor:users').equals(key)).toBe(true);
    const expected = Buffer.from(hkdfSync('sha256', 'master-secret', 'nest-modular-monolith/key-ring/v1', 'cursor:users', 32));
    expect(key.equals(expected)).toBe(true);
  });

  it('gives each purpose its own key, and never the secret itself', () => {
    const a = ring({ APP_SECRET: 'master-secret' });
    expect(a.key('cursor:users').equals(a.key('cursor:ledger'))).toBe(false);
    expect(a.key('cursor:users').toString('utf8')).not.toContain('master-secret');
  });

  it('does not depend on the JWT secrets', () => {
    const a = ring({ APP_SECRET: 'master-secret', JWT_ACCESS_SECRET: 'one' });
    const b = ring({ APP_SECRET: 'master-secret', JWT_ACCESS_SECRET: 'two' });
    expect(a.key('cursor:users').equals(b.key('cursor:users'))).toBe(true);
    expect(ring({ APP_SECRET: 'other-secret' }).key('cursor:users').equals(a.key('cursor:users'))).toBe(false);
  });

  it.each([[''], ['cursor'], ['Cursor:Users'], ['cursor:'], [':users']])('refuses the malformed purpose %p', (purpose) => {
    expect(() => ring({}).key(purpose)).toThrow(/must look like/);
  });
});
