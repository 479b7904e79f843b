import { Writable } from 'node:stream';
import pino from 'pino';
import { lazyChildLogger } from './lazy-child-logger';

describe('lazyChildLogger', () => {
  it('creates the pino child only when something logs, and logs with the bindings', () => {
    const lines: string[] = [];
    const parent = pino({}, new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }));
    const child = jest.spyOn(parent, 'child');
    const logger = lazyChildLogger(parent, { requestId: 'r-1' });

    // what Fastify does with every request's logger: check the methods exist
    for (const method of ['info', 'error', 'debug', 'fatal', 'warn', 'trace', 'child'] as const) {
      expect(typeof logger[method]).toBe('function');
    }
    expect(child).not.toHaveBeenCalled();

    logger.info({ a: 1 }, 'hello');
    logger.warn('again');
    expect(child).toHaveBeenCalledTimes(1);
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ requestId: 'r-1', a: 1, msg: 'hello' }),
      expect.objectContaining({ requestId: 'r-1', msg: 'again' }),
    ]);
  });

  it('makes no child for a line below the level, and answers level questions as the parent would', () => {
    const parent = pino({ level: 'info' }, new Writable({ write: (_chunk: Buffer, _e, done) => done() }));
    const child = jest.spyOn(parent, 'child');
    const logger = lazyChildLogger(parent, { requestId: 'r-2' });
    logger.debug('dropped');
    logger.trace({ x: 1 }, 'dropped');
    expect(child).not.toHaveBeenCalled();
    expect(logger.level).toBe('info');
    expect(logger.isLevelEnabled('debug')).toBe(false);
    expect(logger.bindings()).toMatchObject({ requestId: 'r-2' });
    logger.error(new Error('boom'), 'kept');
    expect(child).toHaveBeenCalledTimes(1);
  });
});
