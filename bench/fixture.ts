// The data the benchmark reads and writes: realistic ConvertCustomConfigs (8 observed -> quantized
// mappings over two quant types, 5 preserved attributes, 2 labels) and the module classes they name.
//
// The registry is built from TEMPLATE_COUNT templates written through the API. Config `cfg-<i>` is
// a copy of template `i % TEMPLATE_COUNT` (see seed.ts), so the names of one template, its label
// `model:model-<k>` and its own class pair are spread evenly over the whole name space: a filter
// on them selects 1 config in TEMPLATE_COUNT, scattered, which is what makes an index matter.

export const TEMPLATE_COUNT = 100;

/** Classes every template maps (registered once; torch's four built-ins are there already). */
const SHARED_MAPPINGS: Array<{ quantType: 'static' | 'dynamic'; observed: string; quantized: string }> = [
  { quantType: 'static', observed: 'torch.ao.nn.quantizable.LSTM', quantized: 'torch.ao.nn.quantized.LSTM' },
  {
    quantType: 'static',
    observed: 'torch.ao.nn.quantizable.MultiheadAttention',
    quantized: 'torch.ao.nn.quantized.MultiheadAttention',
  },
  { quantType: 'static', observed: 'acme_vision.observed.ConvBnReLU2d', quantized: 'acme_vision.quantized.ConvBnReLU2d' },
  { quantType: 'static', observed: 'acme_vision.observed.SqueezeExcite', quantized: 'acme_vision.quantized.SqueezeExcite' },
  { quantType: 'static', observed: 'acme_vision.observed.DepthwiseBlock', quantized: 'acme_vision.quantized.DepthwiseBlock' },
  { quantType: 'dynamic', observed: 'acme_text.observed.GatedLinear', quantized: 'acme_text.quantized.GatedLinear' },
  { quantType: 'dynamic', observed: 'acme_text.observed.RotaryEmbedding', quantized: 'acme_text.quantized.RotaryEmbedding' },
];

/** The class pair only template `k` maps: `usesClass` on it selects 1/TEMPLATE_COUNT of the registry. */
export function templateClasses(k: number): { observed: string; quantized: string } {
  return { observed: `acme_heads.observed.Head${k}`, quantized: `acme_heads.quantized.Head${k}` };
}

/** Every class the fixture needs registered: observed ones plain, quantized ones with fromObserved. */
export function fixtureClasses(): Array<{ id: string; fromObserved: boolean }> {
  const out: Array<{ id: string; fromObserved: boolean }> = [];
  for (const m of SHARED_MAPPINGS) {
    if (m.observed.startsWith('torch.')) continue; // built in
    out.push({ id: m.observed, fromObserved: false }, { id: m.quantized, fromObserved: true });
  }
  for (let k = 0; k < TEMPLATE_COUNT; k++) {
    const c = templateClasses(k);
    out.push({ id: c.observed, fromObserved: false }, { id: c.quantized, fromObserved: true });
  }
  return out;
}

export interface ConfigBody {
  config: {
    observed_to_quantized_custom_module_class: Record<string, Record<string, string>>;
    preserved_attributes: string[];
  };
  description: string;
  labels: Record<string, string>;
}

/** The PUT body of template `k`: 6 static + 2 dynamic mappings, 5 preserved attributes. */
export function templateBody(k: number, description = `Quantization recipe ${k} for the acme model zoo`): ConfigBody {
  const mapping: Record<string, Record<string, string>> = { static: {}, dynamic: {} };
  for (const m of SHARED_MAPPINGS) mapping[m.quantType]![m.observed] = m.quantized;
  const own = templateClasses(k);
  mapping.static![own.observed] = own.quantized;
  return {
    config: {
      observed_to_quantized_custom_module_class: mapping,
      preserved_attributes: ['num_heads', 'hidden_size', 'qconfig_tag', 'export_version', 'input_scale'],
    },
    description,
    labels: { team: `team-${k % 10}`, model: `model-${k}` },
  };
}

/** Config names sort in index order: `cfg-000042`. */
export function configName(i: number): string {
  return `cfg-${String(i).padStart(6, '0')}`;
}

/** Write targets of the product's PUT benchmark (w), the raw-driver baseline (r) and etcd (e): same shape. */
export function writeTargetName(prefix: 'w' | 'r' | 'e', i: number): string {
  return `${prefix}-${String(i).padStart(4, '0')}`;
}
