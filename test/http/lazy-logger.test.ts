import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { lazyChildLoggerFactory } from '../../src/http/lazy-logger.js';

function capture(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level, base: null, timestamp: false }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('request loggers made on first use', () => {
  it('write the same lines as pino children, bindings and all', () => {
    for (const level of ['warn', 'info', 'trace']) {
      const lazy = capture(level);
      const eager = capture(level);
      const factory = lazyChildLoggerFactory();
      const boom = new Error('boom');
      const write = (log: pino.BaseLogger) => {
        log.trace('t');
        log.debug({ a: 1 }, 'd');
        log.info('i');
        log.warn({ b: 2 }, 'w');
        log.error(boom);
        const actor = (log as pino.Logger).child({ actor: 'admin' });
        actor.info('as actor');
        actor.error({ c: 3 }, 'failed as actor');
      };
      write(factory(lazy.logger, { reqId: 'r-1' }, {}) as unknown as pino.BaseLogger);
      write(eager.logger.child({ reqId: 'r-1' }));
      expect(lazy.lines, level).toEqual(eager.lines);
      expect(lazy.lines.length, level).toBeGreaterThan(0);
      expect(lazy.lines.every((line) => line.reqId === 'r-1'), level).toBe(true);
    }
  });

  it('report the level, and honour a per-route level', () => {
    const { logger, lines } = capture('warn');
    const factory = lazyChildLoggerFactory();
    expect(factory(logger, { reqId: 'a' }, {}).level).toBe('warn');
    const verbose = factory(logger, { reqId: 'b' }, { level: 'debug' });
    verbose.debug('shown');
    expect(lines).toEqual([{ level: 20, reqId: 'b', msg: 'shown' }]);
  });
});
