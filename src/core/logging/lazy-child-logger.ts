import type { Bindings, ChildLoggerOptions, Level, Logger } from 'pino';

/**
 * A per-request logger that creates its pino child only when something is written at an enabled
 * level. Fastify makes a child logger for every request; most requests never log through it
 * (the access line is written by the root logger), and a pino child per request is a measurable
 * share of a cheap route's cost. A plain class, not a Proxy: Fastify checks on every request that
 * the log methods exist, and a Proxy's trap ran for each check.
 */
class LazyRequestLogger {
  private real: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly childBindings: Bindings,
    private readonly childOptions: ChildLoggerOptions | undefined,
  ) {}

  private logger(): Logger {
    return (this.real ??= this.parent.child(this.childBindings, this.childOptions));
  }

  private write(level: Level, args: unknown[]): void {
    // a level the logger drops needs no child (the exception filter logs every 4xx at debug)
    if (!(this.real ?? this.parent).isLevelEnabled(level)) return;
    this.logger()[level](...(args as [string]));
  }

  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.write('error', args);
  }
  warn(...args: unknown[]): void {
    this.write('warn', args);
  }
  info(...args: unknown[]): void {
    this.write('info', args);
  }
  debug(...args: unknown[]): void {
    this.write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.write('trace', args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.logger().child(bindings, options);
  }

  bindings(): Bindings {
    return this.real ? this.real.bindings() : { ...this.parent.bindings(), ...this.childBindings };
  }

  isLevelEnabled(level: string): boolean {
    return (this.real ?? this.parent).isLevelEnabled(level);
  }

  get level(): string {
    return (this.real ?? this.parent).level;
  }

  set level(level: string) {
    this.logger().level = level;
  }
}

export function lazyChildLogger(parent: Logger, bindings: Bindings, options?: ChildLoggerOptions): Logger {
  return new LazyRequestLogger(parent, bindings, options) as unknown as Logger;
}
