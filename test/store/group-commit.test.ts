// GroupCommit's queue discipline (src/store/group-commit.ts): what is waiting goes as one group,
// no more than `maxSize` at a time and no more than `concurrency` groups at once; each caller
// gets its own outcome, or the group's error. The commits themselves are tested against the real
// databases in test/api/group-commit.test.ts; here the commit function is the test's, so that
// the moments at which groups start and end are the test's to choose.
import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../src/store/group-commit.js';

/** A commit whose groups stay open until the test ends them, in any order. */
function controlledCommit() {
  const open: Array<{ items: number[]; end: (error?: Error) => void }> = [];
  let running = 0;
  let mostAtOnce = 0;
  const commit = (items: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      open.push({
        items,
        end: (error) => {
          running--;
          if (error) reject(error);
          else resolve(items.map((i) => `done ${i}`));
        },
      });
    });
  return { commit, open, mostAtOnce: () => mostAtOnce };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('one group at a time by default: what arrives meanwhile is the next group', async () => {
    const c = controlledCommit();
    const queue = new GroupCommit(c.commit, 64);
    const first = [1, 2, 3].map((i) => queue.submit(i));
    await turn();
    expect(c.open.map((g) => g.items)).toEqual([[1, 2, 3]]);
    const second = [4, 5].map((i) => queue.submit(i));
    await turn();
    expect(c.open).toHaveLength(1);
    c.open[0]!.end();
    expect(await Promise.all(first)).toEqual(['done 1', 'done 2', 'done 3']);
    await turn();
    expect(c.open.map((g) => g.items)).toEqual([[1, 2, 3], [4, 5]]);
    c.open[1]!.end();
    expect(await Promise.all(second)).toEqual(['done 4', 'done 5']);
    expect(queue.stats).toEqual({ groups: 2, items: 5, largest: 3 });
    expect(c.mostAtOnce()).toBe(1);
  });

  it('with concurrency 2, a second group starts while the first commits, and a third waits for either', async () => {
    const c = controlledCommit();
    const queue = new GroupCommit(c.commit, 64, 2);
    const a = queue.submit(1);
    await turn();
    const b = [2, 3].map((i) => queue.submit(i));
    await turn();
    expect(c.open.map((g) => g.items)).toEqual([[1], [2, 3]]);
    const rest = [4, 5, 6].map((i) => queue.submit(i));
    await turn();
    expect(c.open).toHaveLength(2);
    // The second ends first: the waiting ones go then, without waiting for the first.
    c.open[1]!.end();
    expect(await Promise.all(b)).toEqual(['done 2', 'done 3']);
    await turn();
    expect(c.open.map((g) => g.items)).toEqual([[1], [2, 3], [4, 5, 6]]);
    c.open[0]!.end();
    c.open[2]!.end();
    expect(await a).toBe('done 1');
    expect(await Promise.all(rest)).toEqual(['done 4', 'done 5', 'done 6']);
    expect(c.mostAtOnce()).toBe(2);
  });

  it('splits at maxSize, and a failed group fails only its own callers', async () => {
    const c = controlledCommit();
    const queue = new GroupCommit(c.commit, 2, 2);
    const submitted = [1, 2, 3, 4, 5].map((i) => queue.submit(i));
    await turn();
    await turn();
    expect(c.open.map((g) => g.items)).toEqual([[1, 2], [3, 4]]);
    c.open[0]!.end(new Error('disk full'));
    await expect(submitted[0]).rejects.toThrow('disk full');
    await expect(submitted[1]).rejects.toThrow('disk full');
    await turn();
    expect(c.open.map((g) => g.items)).toEqual([[1, 2], [3, 4], [5]]);
    c.open[1]!.end();
    c.open[2]!.end();
    expect(await Promise.all(submitted.slice(2))).toEqual(['done 3', 'done 4', 'done 5']);
    expect(queue.stats).toEqual({ groups: 3, items: 5, largest: 2 });
  });
});
