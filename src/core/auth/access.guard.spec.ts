import { loadConfig } from '../../config/app-config';
import type { ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { AppThrottlerGuard } from '../throttling/app-throttler.guard';
import { AccessGuard } from './access.guard';
import type { AuthUser } from './auth-user';
import { Auth, Public } from './auth.decorators';

class Routes {
  @Public()
  open(): void {}

  @Auth()
  mine(): void {}

  @Auth({ roles: ['admin'] })
  admin(): void {}
}

@Public()
class OpenControllerWithAdminRoute {
  @Auth({ roles: ['admin'] })
  admin(): void {}

  open(): void {}
}

function contextFor(handler: keyof Routes, request: Partial<FastifyRequest> = {}): ExecutionContext {
  const req = Object.assign(request, { headers: {}, routeOptions: { url: `/x/${handler}` } });
  return {
    getHandler: () => Routes.prototype[handler],
    getClass: () => Routes,
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => ({}) }),
  } as unknown as ExecutionContext;
}

describe('AccessGuard', () => {
  const user: AuthUser = { id: 'u1', roles: ['user'], sessionId: null, emailVerified: true };
  const authenticate = jest.fn((_request: FastifyRequest) => Promise.resolve(user));
  const limit = jest.fn((_context: ExecutionContext): Promise<void> | null => Promise.resolve());
  const guard = new AccessGuard({ authenticate, limiterSubjectOf: () => null }, { limit } as unknown as AppThrottlerGuard, loadConfig({}));

  beforeEach(() => jest.clearAllMocks());

  it('limits, then authenticates, then authorises, in that order', async () => {
    await expect(guard.canActivate(contextFor('mine'))).resolves.toBe(true);
    expect(limit).toHaveBeenCalledTimes(1);
    expect(authenticate).toHaveBeenCalledTimes(1);
    expect(limit.mock.invocationCallOrder[0]!).toBeLessThan(authenticate.mock.invocationCallOrder[0]!);
  });

  it('answers synchronously on a public route no limit applies to (the health probes)', () => {
    limit.mockReturnValueOnce(null);
    expect(guard.canActivate(contextFor('open'))).toBe(true);
    expect(authenticate).not.toHaveBeenCalled();
  });

  it('counts a public route against the limit, and asks for no token there', async () => {
    await expect(guard.canActivate(contextFor('open'))).resolves.toBe(true);
    expect(limit).toHaveBeenCalledTimes(1);
    expect(authenticate).not.toHaveBeenCalled();
  });

  it('refuses a caller without the role with 403, and sets request.user for those with it', async () => {
    await expect(guard.canActivate(contextFor('admin'))).rejects.toMatchObject({ status: 403, code: 'FORBIDDEN' });
    authenticate.mockResolvedValueOnce({ id: 'a1', roles: ['admin', 'user'], sessionId: null, emailVerified: true });
    const request: Partial<FastifyRequest> & { user?: AuthUser } = {};
    await expect(guard.canActivate(contextFor('admin', request))).resolves.toBe(true);
    expect(request.user).toEqual({ id: 'a1', roles: ['admin', 'user'], sessionId: null, emailVerified: true });
  });

  it('does not stop at the limit when authentication fails: the refused request was counted first', async () => {
    authenticate.mockRejectedValueOnce(Object.assign(new Error('no'), { status: 401 }));
    await expect(guard.canActivate(contextFor('mine'))).rejects.toMatchObject({ status: 401 });
    expect(limit).toHaveBeenCalledTimes(1);
  });

  it("takes a route's rule from its method when the method has one, else from its controller", async () => {
    const context = (handler: 'admin' | 'open') =>
      ({
        getHandler: () => OpenControllerWithAdminRoute.prototype[handler],
        getClass: () => OpenControllerWithAdminRoute,
        switchToHttp: () => ({ getRequest: () => ({ headers: {}, routeOptions: { url: `/y/${handler}` } }), getResponse: () => ({}) }),
      }) as unknown as ExecutionContext;
    // the method's @Auth({ roles: ['admin'] }) holds under the controller's @Public()
    await expect(guard.canActivate(context('admin'))).rejects.toMatchObject({ status: 403 });
    expect(authenticate).toHaveBeenCalledTimes(1);
    // the other method has no rule of its own: the controller's @Public() applies
    await expect(guard.canActivate(context('open'))).resolves.toBe(true);
    expect(authenticate).toHaveBeenCalledTimes(1);
  });

  it("reads a route's metadata on its first request only", async () => {
    const fresh = new AccessGuard(
      { authenticate, limiterSubjectOf: () => null },
      { limit } as unknown as AppThrottlerGuard,
      loadConfig({}),
    );
    const read = jest.spyOn(Reflect, 'getMetadata');
    try {
      await fresh.canActivate(contextFor('mine'));
      const first = read.mock.calls.length;
      expect(first).toBeGreaterThan(0);
      await fresh.canActivate(contextFor('mine'));
      await fresh.canActivate(contextFor('mine'));
      expect(read.mock.calls.length).toBe(first);
    } finally {
      read.mockRestore();
    }
  });
});
