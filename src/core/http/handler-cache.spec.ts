import type { ExecutionContext } from '@nestjs/common';
import { HandlerCache } from './handler-cache';

class Base {
  handle(): void {}
}
class A extends Base {}
class B extends Base {}

const contextOf = (controller: object, handler: unknown) =>
  ({ getClass: () => controller, getHandler: () => handler }) as unknown as ExecutionContext;

describe('HandlerCache', () => {
  it('computes once per controller and handler, and apart for a handler inherited by two controllers', () => {
    const compute = jest.fn((_handler: unknown, controller: unknown) => (controller as { name: string }).name);
    const cache = new HandlerCache(compute);
    expect(cache.get(contextOf(A, Base.prototype.handle))).toBe('A');
    expect(cache.get(contextOf(A, Base.prototype.handle))).toBe('A');
    expect(cache.get(contextOf(B, Base.prototype.handle))).toBe('B');
    expect(compute).toHaveBeenCalledTimes(2);
  });
});
