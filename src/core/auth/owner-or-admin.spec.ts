import { assertOwnerOrAdmin, isOwnerOrAdmin } from './owner-or-admin';

describe('owner or admin', () => {
  const owner = { id: 'u1', roles: ['user' as const] };
  const other = { id: 'u2', roles: ['user' as const] };
  const admin = { id: 'a1', roles: ['admin' as const, 'user' as const] };

  it('lets the owner and an admin through, and refuses anyone else with 403 FORBIDDEN and the message', () => {
    expect(isOwnerOrAdmin(owner, 'u1')).toBe(true);
    expect(isOwnerOrAdmin(admin, 'u1')).toBe(true);
    expect(isOwnerOrAdmin(other, 'u1')).toBe(false);
    expect(() => assertOwnerOrAdmin(owner, 'u1', 'no')).not.toThrow();
    expect(() => assertOwnerOrAdmin(other, 'u1', 'You may only see your own accounts')).toThrow(
      expect.objectContaining({ status: 403, code: 'FORBIDDEN', message: 'You may only see your own accounts' }),
    );
  });
});
