import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../src/registry/errors.js';
import { WriteQueue } from '../../src/registry/write-queue.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('WriteQueue', () => {
  it('runs the writes to one key one at a time, in arrival order, and other keys alongside', async () => {
    const queue = new WriteQueue();
    const log: string[] = [];
    const write = (key: string, id: string) =>
      queue.run(key, async () => {
        log.push(`start ${id}`);
        await tick();
        log.push(`end ${id}`);
        return id;
      });
    const results = await Promise.all([write('a', 'a1'), write('a', 'a2'), write('b', 'b1'), write('a', 'a3')]);
    expect(results).toEqual(['a1', 'a2', 'b1', 'a3']);
    expect(log.filter((l) => l.endsWith('a1') || l.endsWith('a2') || l.endsWith('a3'))).toEqual([
      'start a1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3',
    ]);
    // b1 did not wait for the writes to a.
    expect(log.indexOf('start b1')).toBeLessThan(log.indexOf('end a1'));
  });

  it('fails the writes waiting behind one that found the database unavailable, at once', async () => {
    const queue = new WriteQueue();
    let ran = 0;
    const first = queue.run('a', async () => {
      await tick();
      throw new UnavailableError('down');
    });
    const waiting = [1, 2, 3].map(() => queue.run('a', async () => void ran++));
    await expect(first).rejects.toBeInstanceOf(UnavailableError);
    for (const w of waiting) await expect(w).rejects.toBeInstanceOf(UnavailableError);
    expect(ran).toBe(0);
    // A write that arrives afterwards tries the database again.
    await expect(queue.run('a', async () => 'ok')).resolves.toBe('ok');
  });

  it('lets the next write run after one that failed for any other reason', async () => {
    const queue = new WriteQueue();
    const first = queue.run('a', async () => {
      throw new Error('invalid');
    });
    const second = queue.run('a', async () => 'ok');
    await expect(first).rejects.toThrow('invalid');
    await expect(second).resolves.toBe('ok');
  });
});
