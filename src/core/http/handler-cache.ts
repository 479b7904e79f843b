import type { ExecutionContext } from '@nestjs/common';

type Handler = (...args: never[]) => unknown;
type ControllerClass = abstract new (...args: never[]) => unknown;

/**
 * What a global guard or interceptor derives from a route's metadata, computed on the route's
 * first request and kept: decorators cannot change at run time, so reading the reflector on
 * every request (as `Reflector.getAllAndOverride` does) is work thrown away. Keyed by class and
 * handler, since a handler inherited from a base controller can carry different class metadata.
 */
export class HandlerCache<T> {
  private readonly byClass = new WeakMap<ControllerClass, WeakMap<Handler, T>>();

  constructor(private readonly compute: (handler: Handler, controller: ControllerClass) => T) {}

  get(context: ExecutionContext): T {
    const handler = context.getHandler() as Handler;
    const controller = context.getClass() as unknown as ControllerClass;
    let handlers = this.byClass.get(controller);
    if (!handlers) {
      handlers = new WeakMap();
      this.byClass.set(controller, handlers);
    }
    let value = handlers.get(handler);
    if (value === undefined) {
      value = this.compute(handler, controller);
      handlers.set(handler, value);
    }
    return value;
  }
}
