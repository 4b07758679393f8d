import { describe, expect, it } from 'vitest';
import { renderPython } from '../../src/domain/python.js';

describe('renderPython', () => {
  it('renders imports and chained setters in stored order', () => {
    const dict = {
      observed_to_quantized_custom_module_class: {
        weight_only: { 'my_pkg.custom.ObservedC': 'my_pkg.custom.QuantizedC', 'my_pkg.rnn.LSTM': 'my_pkg.quantized.LSTM' },
        static: {
          'torch.ao.nn.quantizable.LSTM': 'torch.ao.nn.quantized.LSTM',
          'torch.ao.nn.quantizable.MultiheadAttention': 'torch.ao.nn.quantized.MultiheadAttention',
        },
      },
      preserved_attributes: ['z_attr', 'a_attr'],
    };
    expect(renderPython(dict, { name: 'resnet50-int8', version: 3 })).toBe(
      [
        "# ConvertCustomConfig 'resnet50-int8', version 3, exported from the convert-config registry.",
        "# Running this builds a config whose to_dict() equals the registry's, order included.",
        'from torch.ao.quantization.fx.custom_config import ConvertCustomConfig',
        'from torch.ao.quantization.quant_type import QuantType',
        '',
        'import my_pkg.custom',
        'import my_pkg.quantized',
        'import my_pkg.rnn',
        'import torch.ao.nn.quantizable',
        'import torch.ao.nn.quantized',
        '',
        'convert_custom_config = (ConvertCustomConfig()',
        '    .set_observed_to_quantized_mapping(my_pkg.custom.ObservedC, my_pkg.custom.QuantizedC, QuantType.WEIGHT_ONLY)',
        '    .set_observed_to_quantized_mapping(my_pkg.rnn.LSTM, my_pkg.quantized.LSTM, QuantType.WEIGHT_ONLY)',
        '    .set_observed_to_quantized_mapping(torch.ao.nn.quantizable.LSTM, torch.ao.nn.quantized.LSTM, QuantType.STATIC)',
        '    .set_observed_to_quantized_mapping(torch.ao.nn.quantizable.MultiheadAttention, torch.ao.nn.quantized.MultiheadAttention, QuantType.STATIC)',
        "    .set_preserved_attributes(['z_attr', 'a_attr'])",
        ')',
        '',
      ].join('\n'),
    );
  });

  it('renders an empty config as a bare constructor', () => {
    expect(renderPython({}, { name: 'empty', version: 1 })).toBe(
      [
        "# ConvertCustomConfig 'empty', version 1, exported from the convert-config registry.",
        "# Running this builds a config whose to_dict() equals the registry's, order included.",
        'from torch.ao.quantization.fx.custom_config import ConvertCustomConfig',
        '',
        'convert_custom_config = ConvertCustomConfig()',
        '',
      ].join('\n'),
    );
  });

  it('skips empty quant types and renders attributes only when that is all there is', () => {
    const text = renderPython(
      { observed_to_quantized_custom_module_class: { dynamic: {} }, preserved_attributes: ['keep'] },
      { name: 'attrs', version: 2 },
    );
    expect(text).not.toContain('QuantType');
    expect(text).not.toContain('\nimport ');
    expect(text).toContain("convert_custom_config = (ConvertCustomConfig()\n    .set_preserved_attributes(['keep'])\n)\n");
  });

  it('renames the PyTorch imports when a top-level package would shadow them', () => {
    const text = renderPython(
      { observed_to_quantized_custom_module_class: { qat: { 'QuantType.A': 'ConvertCustomConfig.B' } } },
      { name: 'clash', version: 1 },
    );
    expect(text).toContain('from torch.ao.quantization.fx.custom_config import ConvertCustomConfig as _ConvertCustomConfig\n');
    expect(text).toContain('from torch.ao.quantization.quant_type import QuantType as _QuantType\n');
    expect(text).toContain('import ConvertCustomConfig\nimport QuantType\n');
    expect(text).toContain('.set_observed_to_quantized_mapping(QuantType.A, ConvertCustomConfig.B, _QuantType.QAT)');
  });

  it('keeps a hostile name inside its comment line', () => {
    const text = renderPython({}, { name: "x'\nimport os", version: 1 });
    expect(text.split('\n')[0]).toBe(`# ConvertCustomConfig "x'\\nimport os", version 1, exported from the convert-config registry.`);
  });

  it('refuses to emit a malformed identifier as code', () => {
    expect(() =>
      renderPython({ observed_to_quantized_custom_module_class: { static: { 'os.system("x")': 'a.B' } } }, { name: 'x', version: 1 }),
    ).toThrow(/cannot render module class identifier/);
  });
});
