import { describe, expect, it } from 'vitest';
import { diffConfigs } from '../../src/domain/config-diff.js';
import type { ConfigSnapshot } from '../../src/domain/config-diff.js';

const MAP = 'observed_to_quantized_custom_module_class';

function snapshot(partial: Partial<ConfigSnapshot> = {}): ConfigSnapshot {
  return { config: {}, description: '', labels: {}, ...partial };
}

describe('diffConfigs', () => {
  it('reports nothing for identical snapshots', () => {
    const s = snapshot({ config: { [MAP]: { static: { 'a.B': 'c.D' } }, preserved_attributes: ['x'] }, description: 'd', labels: { team: 'vision' } });
    expect(diffConfigs(s, s)).toEqual({
      mappings: {},
      preservedAttributes: { added: [], removed: [], orderChanged: false },
      description: null,
      labels: { added: {}, removed: {}, changed: {} },
    });
  });

  it('lists mappings added, removed and changed per quant type, only where something changed', () => {
    const from = snapshot({
      config: {
        [MAP]: {
          static: { 'a.Kept': 'q.Kept', 'a.Changed': 'q.Old', 'a.Removed': 'q.Removed' },
          dynamic: { 'd.Same': 'q.Same' },
          qat: { 'x.Gone': 'q.Gone' },
        },
      },
    });
    const to = snapshot({
      config: {
        [MAP]: {
          dynamic: { 'd.Same': 'q.Same' },
          static: { 'a.New': 'q.New', 'a.Changed': 'q.New2', 'a.Kept': 'q.Kept' },
          weight_only: { 'w.A': 'q.W' },
        },
      },
    });
    const diff = diffConfigs(from, to);
    expect(Object.keys(diff.mappings)).toEqual(['static', 'qat', 'weight_only']);
    expect(diff.mappings).toEqual({
      static: {
        added: [{ observed: 'a.New', quantized: 'q.New' }],
        removed: [{ observed: 'a.Removed', quantized: 'q.Removed' }],
        changed: [{ observed: 'a.Changed', from: 'q.Old', to: 'q.New2' }],
      },
      qat: { added: [], removed: [{ observed: 'x.Gone', quantized: 'q.Gone' }], changed: [] },
      weight_only: { added: [{ observed: 'w.A', quantized: 'q.W' }], removed: [], changed: [] },
    });
  });

  it('treats the same observed class under two quant types independently', () => {
    const from = snapshot({ config: { [MAP]: { static: { 'a.B': 'q.S' } } } });
    const to = snapshot({ config: { [MAP]: { dynamic: { 'a.B': 'q.S' } } } });
    expect(diffConfigs(from, to).mappings).toEqual({
      static: { added: [], removed: [{ observed: 'a.B', quantized: 'q.S' }], changed: [] },
      dynamic: { added: [{ observed: 'a.B', quantized: 'q.S' }], removed: [], changed: [] },
    });
  });

  it('diffs preserved attributes, noticing a change of order or repetition', () => {
    const diff = (a: string[], b: string[]) =>
      diffConfigs(snapshot({ config: { preserved_attributes: a } }), snapshot({ config: { preserved_attributes: b } })).preservedAttributes;
    expect(diff(['a', 'b'], ['b', 'c'])).toEqual({ added: ['c'], removed: ['a'], orderChanged: false });
    expect(diff(['a', 'b'], ['b', 'a'])).toEqual({ added: [], removed: [], orderChanged: true });
    expect(diff(['a', 'b', 'c'], ['c', 'b'])).toEqual({ added: [], removed: ['a'], orderChanged: true });
    expect(diff(['a'], ['a', 'a'])).toEqual({ added: [], removed: [], orderChanged: true });
    expect(diff([], ['x', 'y'])).toEqual({ added: ['x', 'y'], removed: [], orderChanged: false });
  });

  it('reports description and label changes', () => {
    const diff = diffConfigs(
      snapshot({ description: 'old', labels: { team: 'vision', stage: 'dev', gone: 'x' } }),
      snapshot({ description: 'new', labels: { stage: 'prod', team: 'vision', owner: 'ana' } }),
    );
    expect(diff.description).toEqual({ from: 'old', to: 'new' });
    expect(diff.labels).toEqual({
      added: { owner: 'ana' },
      removed: { gone: 'x' },
      changed: { stage: { from: 'dev', to: 'prod' } },
    });
  });
});
