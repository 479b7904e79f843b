import type { Bindings, ChildLoggerOptions, Logger } from 'pino';

/**
 * A per-request logger that creates its pino child only when something logs. Fastify makes a
 * child logger for every request; most requests never log through it (the access line is
 * written once, by the root logger), and creating children on every request costs ~20% of
 * throughput on a trivial route.
 */
export function lazyChildLogger(parent: Logger, bindings: Bindings, options?: ChildLoggerOptions): Logger {
  let child: Logger | undefined;
  const real = (): Logger => (child ??= parent.child(bindings, options));
  return new Proxy(parent, {
    get(_target, property) {
      const logger = real();
      const value: unknown = Reflect.get(logger, property, logger);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(logger) : value;
    },
    set(_target, property, value) {
      return Reflect.set(real(), property, value);
    },
  });
}
