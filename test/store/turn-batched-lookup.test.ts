import { describe, expect, it } from 'vitest';
import { TurnBatchedLookup } from '../../src/store/turn-batched-lookup.js';

/** A lookup whose queries the test answers by hand: each call is recorded with its keys. */
function controlledLookup() {
  const calls: Array<{ keys: string[]; answer: (found: Record<string, number>) => void; fail: (error: Error) => void }> = [];
  const lookup = (keys: string[]) =>
    new Promise<Map<string, number>>((resolve, reject) => {
      calls.push({ keys, answer: (found) => resolve(new Map(Object.entries(found))), fail: reject });
    });
  return { calls, lookup };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('TurnBatchedLookup', () => {
  it('sends the keys asked for in one turn as one query, each once, and answers each caller', async () => {
    const { calls, lookup } = controlledLookup();
    const batched = new TurnBatchedLookup(lookup);
    const answers = [batched.get('a'), batched.get('b'), batched.get('a'), batched.get('missing')];
    expect(calls).toHaveLength(0); // not before the turn's I/O is done
    await nextTurn();
    expect(calls.map((c) => c.keys.sort())).toEqual([['a', 'b', 'missing']]);
    calls[0]!.answer({ a: 1, b: 2 });
    expect(await Promise.all(answers)).toEqual([1, 2, 1, undefined]);
  });

  it('never answers a key from a query sent before it was asked for', async () => {
    const { calls, lookup } = controlledLookup();
    const batched = new TurnBatchedLookup(lookup);
    const early = batched.get('x');
    await nextTurn();
    expect(calls).toHaveLength(1);
    // Asked while the first query is out: it must wait for a query of its own, even though the
    // first one is about the same key and answers first.
    const late = batched.get('x');
    const alsoLate = batched.get('y');
    calls[0]!.answer({ x: 1 });
    expect(await early).toBe(1);
    await nextTurn();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.keys.sort()).toEqual(['x', 'y']);
    calls[1]!.answer({ x: 2, y: 3 });
    expect(await late).toBe(2);
    expect(await alsoLate).toBe(3);
  });

  it('keeps one query out at a time: keys asked for meanwhile, over many turns, share the next one', async () => {
    const { calls, lookup } = controlledLookup();
    const batched = new TurnBatchedLookup(lookup);
    const first = batched.get('k0');
    await nextTurn();
    const waiting: Array<Promise<number | undefined>> = [];
    for (let turn = 1; turn <= 5; turn++) {
      waiting.push(batched.get(`k${turn}`));
      await nextTurn();
    }
    expect(calls).toHaveLength(1);
    calls[0]!.answer({ k0: 0 });
    await first;
    await nextTurn();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.keys.sort()).toEqual(['k1', 'k2', 'k3', 'k4', 'k5']);
    calls[1]!.answer({ k1: 1, k2: 2, k3: 3, k4: 4, k5: 5 });
    expect(await Promise.all(waiting)).toEqual([1, 2, 3, 4, 5]);
  });

  it('allows as many queries out as it is given', async () => {
    const { calls, lookup } = controlledLookup();
    const batched = new TurnBatchedLookup(lookup, 2);
    const answers = [batched.get('a')];
    await nextTurn();
    answers.push(batched.get('b'));
    await nextTurn();
    answers.push(batched.get('c'));
    await nextTurn();
    expect(calls.map((c) => c.keys)).toEqual([['a'], ['b']]);
    calls[1]!.answer({ b: 2 });
    await answers[1];
    await nextTurn();
    expect(calls.map((c) => c.keys)).toEqual([['a'], ['b'], ['c']]);
    calls[0]!.answer({ a: 1 });
    calls[2]!.answer({ c: 3 });
    expect(await Promise.all(answers)).toEqual([1, 2, 3]);
  });

  it('fails the callers of a failed query only, and goes on with the next', async () => {
    const { calls, lookup } = controlledLookup();
    const batched = new TurnBatchedLookup(lookup);
    const failed = [batched.get('a'), batched.get('b')];
    await nextTurn();
    const after = batched.get('a');
    calls[0]!.fail(new Error('connection terminated'));
    for (const answer of failed) await expect(answer).rejects.toThrow('connection terminated');
    await nextTurn();
    expect(calls).toHaveLength(2);
    calls[1]!.answer({ a: 7 });
    expect(await after).toBe(7);
  });
});
