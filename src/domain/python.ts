/**
 * Renders a stored config as a runnable Python snippet that builds the same `ConvertCustomConfig`
 * with PyTorch's chained setters. Replaying `set_observed_to_quantized_mapping` in `to_dict()`
 * order reproduces `to_dict()` exactly (PyTorch orders quant types by first insertion and keeps
 * each inner dict in insertion order), so the snippet and the registry agree, order included.
 */
import type { ConvertCustomConfigDict } from './convert-custom-config.js';
import { moduleClassIdProblem } from './identifiers.js';
import { pythonStringLiteral } from './python-literal.js';
import { quantTypeFromName, quantTypeMember } from './quant-type.js';
import type { QuantTypeName } from './quant-type.js';

/** `torch.ao.nn.quantized.LSTM` -> `torch.ao.nn.quantized`: what `import` must load. */
function moduleOf(id: string): string {
  return id.slice(0, id.lastIndexOf('.'));
}

/** A name for an imported PyTorch symbol that no `import <package>` line can shadow. */
function unshadowed(name: string, topLevelPackages: ReadonlySet<string>): string {
  let local = name;
  while (topLevelPackages.has(local)) local = `_${local}`;
  return local;
}

function importLine(module: string, name: string, local: string): string {
  return local === name ? `from ${module} import ${name}` : `from ${module} import ${name} as ${local}`;
}

/**
 * The snippet for one config version. Classes are referenced by their full dotted path after
 * `import <module>`, so two classes named `LSTM` in different modules never collide. Identifiers
 * are emitted as code, so a malformed one (which validation rejects before storage) throws here
 * rather than producing code that would do something else.
 */
export function renderPython(dict: ConvertCustomConfigDict, meta: { name: string; version: number }): string {
  const calls: { observed: string; quantized: string; quantType: QuantTypeName }[] = [];
  for (const [quantTypeName, inner] of Object.entries(dict.observed_to_quantized_custom_module_class ?? {})) {
    const quantType = quantTypeFromName(quantTypeName);
    for (const [observed, quantized] of Object.entries(inner ?? {})) {
      for (const id of [observed, quantized]) {
        const problem = moduleClassIdProblem(id);
        if (problem !== undefined) throw new Error(`cannot render module class identifier '${id}': ${problem}`);
      }
      calls.push({ observed, quantized, quantType });
    }
  }
  const attributes = dict.preserved_attributes ?? [];

  const modules = [...new Set(calls.flatMap((c) => [moduleOf(c.observed), moduleOf(c.quantized)]))].sort();
  const packages = new Set(modules.map((m) => m.split('.')[0] ?? m));
  const configClass = unshadowed('ConvertCustomConfig', packages);
  const quantTypeEnum = unshadowed('QuantType', packages);

  const lines = [
    `# ConvertCustomConfig ${pythonStringLiteral(meta.name)}, version ${meta.version}, exported from the convert-config registry.`,
    '# Running this builds a config whose to_dict() equals the registry\'s, order included.',
    importLine('torch.ao.quantization.fx.custom_config', 'ConvertCustomConfig', configClass),
  ];
  if (calls.length === 0 && attributes.length === 0) {
    lines.push('', `convert_custom_config = ${configClass}()`);
    return `${lines.join('\n')}\n`;
  }
  if (calls.length > 0) lines.push(importLine('torch.ao.quantization.quant_type', 'QuantType', quantTypeEnum));
  if (modules.length > 0) lines.push('', ...modules.map((m) => `import ${m}`));
  lines.push('', `convert_custom_config = (${configClass}()`);
  for (const c of calls) {
    lines.push(`    .set_observed_to_quantized_mapping(${c.observed}, ${c.quantized}, ${quantTypeEnum}.${quantTypeMember(c.quantType)})`);
  }
  if (attributes.length > 0) {
    lines.push(`    .set_preserved_attributes([${attributes.map(pythonStringLiteral).join(', ')}])`);
  }
  lines.push(')');
  return `${lines.join('\n')}\n`;
}
