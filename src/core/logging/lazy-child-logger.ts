import type { Bindings, ChildLoggerOptions, Logger } from 'pino';

const LOG_METHODS = new Set<PropertyKey>(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent', 'child']);

/**
 * A per-request logger that creates its pino child only when something logs. Fastify makes a
 * child logger for every request; most requests never log through it (the access line is
 * written by the root logger), and a pino child per request is a measurable share of a cheap
 * route's cost. Fastify checks that the log methods exist: they do, as deferring wrappers.
 */
export function lazyChildLogger(parent: Logger, bindings: Bindings, options?: ChildLoggerOptions): Logger {
  let child: Logger | undefined;
  const real = (): Logger => (child ??= parent.child(bindings, options));
  return new Proxy(parent, {
    get(_target, property) {
      if (!child && LOG_METHODS.has(property)) {
        return (...args: unknown[]) => (Reflect.get(real(), property) as (...a: unknown[]) => unknown).apply(child, args);
      }
      const logger = real();
      const value: unknown = Reflect.get(logger, property, logger);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(logger) : value;
    },
    set(_target, property, value) {
      return Reflect.set(real(), property, value);
    },
  });
}
