/**
 * The identifier grammar of the registry (API.md, "Conventions"). Each `...Problem` function
 * returns `undefined` for a valid input and otherwise one precise, human reason, phrased to
 * follow the thing it is about (a JSON Pointer or a parameter name).
 */

/** Config names: lower-case, 1..128 characters, starting and ending with a letter or digit. */
export const CONFIG_NAME_PATTERN = '^[a-z0-9]([a-z0-9._-]{0,126}[a-z0-9])?$';
export const CONFIG_NAME_REGEXP = new RegExp(CONFIG_NAME_PATTERN);
export const MAX_CONFIG_NAME_LENGTH = 128;

/** A fully qualified Python path: the module you import from plus the attribute name. */
export const MODULE_CLASS_ID_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)+$';
export const MODULE_CLASS_ID_REGEXP = new RegExp(MODULE_CLASS_ID_PATTERN);
export const MAX_MODULE_CLASS_ID_LENGTH = 255;

/** Python identifiers, restricted to ASCII (PEP 3131 allows more; this service does not). */
export const PYTHON_IDENTIFIER_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
export const PYTHON_IDENTIFIER_REGEXP = new RegExp(PYTHON_IDENTIFIER_PATTERN);

export const LABEL_KEY_PATTERN = '^[a-z][a-z0-9_.-]{0,62}$';
export const LABEL_KEY_REGEXP = new RegExp(LABEL_KEY_PATTERN);
export const MAX_LABEL_KEY_LENGTH = 63;
export const MAX_LABELS = 64;
export const MAX_LABEL_VALUE_LENGTH = 255;

/**
 * Python 3.11's `keyword.kwlist`. Soft keywords (`match`, `case`, `_`, and 3.12's `type`) are
 * valid names and stay allowed: `import a.match` and an attribute named `_` both work.
 */
export const PYTHON_KEYWORDS: ReadonlySet<string> = new Set([
  'False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class',
  'continue', 'def', 'del', 'elif', 'else', 'except', 'finally', 'for', 'from', 'global', 'if',
  'import', 'in', 'is', 'lambda', 'nonlocal', 'not', 'or', 'pass', 'raise', 'return', 'try',
  'while', 'with', 'yield',
]);

const EXAMPLE_MODULE_CLASS_ID = 'torch.ao.nn.quantized.LSTM';

/** Shows one offending character so that invisible ones (tab, NBSP) are still identifiable. */
function describeChar(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return code > 0x20 && code < 0x7f ? `'${ch}' (${hex})` : hex;
}

/** Quotes user input in a reason, shortened so a huge input cannot flood the message. */
function quote(s: string): string {
  return s.length > 64 ? `'${s.slice(0, 61)}...'` : `'${s}'`;
}

function tooLong(length: number, max: number): string {
  return `is ${length} characters long; at most ${max} are allowed`;
}

/** The fault of one would-be identifier, as a predicate ("is a Python keyword"). */
function identifierFault(s: string): string | undefined {
  // A PUT names a few dozen identifiers: a good one is accepted by one match, and only a bad
  // one is looked at character by character (5 % of a PUT's CPU went to this loop).
  if (PYTHON_IDENTIFIER_REGEXP.test(s)) return PYTHON_KEYWORDS.has(s) ? 'is a Python keyword' : undefined;
  if (s === '') return 'is empty';
  for (const ch of s) {
    if (!/[A-Za-z0-9_]/.test(ch)) {
      return `contains ${describeChar(ch)}; only ASCII letters, digits and '_' are allowed`;
    }
  }
  if (/^[0-9]/.test(s)) return 'starts with a digit';
  if (PYTHON_KEYWORDS.has(s)) return 'is a Python keyword';
  return undefined;
}

/** A module class identifier such as `torch.ao.nn.quantized.LSTM`: every segment importable. */
export function moduleClassIdProblem(id: string): string | undefined {
  if (id.length > MAX_MODULE_CLASS_ID_LENGTH) return tooLong(id.length, MAX_MODULE_CLASS_ID_LENGTH);
  // The grammar matched at once; then only a keyword segment can be wrong.
  if (MODULE_CLASS_ID_REGEXP.test(id) && !hasKeywordSegment(id)) return undefined;
  const segments = id.split('.');
  if (segments.length < 2) {
    return `must be a fully qualified Python path like '${EXAMPLE_MODULE_CLASS_ID}' (at least two dot-separated segments)`;
  }
  for (const [index, segment] of segments.entries()) {
    if (segment === '') {
      const where = index === 0 ? "starts with '.'" : index === segments.length - 1 ? "ends with '.'" : "contains '..'";
      return `${where}; dot-separated segments must not be empty`;
    }
    const fault = identifierFault(segment);
    if (fault !== undefined) return `segment ${quote(segment)} ${fault}`;
  }
  return undefined;
}

function hasKeywordSegment(id: string): boolean {
  return id.split('.').some((segment) => PYTHON_KEYWORDS.has(segment));
}

/** A preserved attribute name: one ASCII Python identifier that is not a keyword. */
export function pythonIdentifierProblem(name: string): string | undefined {
  const fault = identifierFault(name);
  if (fault === undefined) return undefined;
  return name === '' ? 'is empty; a Python identifier is required' : `${quote(name)} ${fault}`;
}

const CONFIG_NAME = new RegExp(CONFIG_NAME_PATTERN);

/** Config names: `^[a-z0-9]([a-z0-9._-]{0,126}[a-z0-9])?$`. */
export function configNameProblem(name: string): string | undefined {
  // Every request names a config: a good name is accepted by one match, and only a bad one is
  // looked at character by character, to say what is wrong with it.
  if (CONFIG_NAME.test(name)) return undefined;
  if (name === '') return 'is empty';
  if (name.length > MAX_CONFIG_NAME_LENGTH) return tooLong(name.length, MAX_CONFIG_NAME_LENGTH);
  for (const ch of name) {
    if (/[A-Z]/.test(ch)) return `contains upper-case ${describeChar(ch)}; config names are lower-case`;
    if (!/[a-z0-9._-]/.test(ch)) {
      return `contains ${describeChar(ch)}; only a-z, 0-9, '.', '_' and '-' are allowed`;
    }
  }
  if (!/^[a-z0-9]/.test(name)) return 'must start with a lower-case letter or a digit';
  if (!/[a-z0-9]$/.test(name)) return 'must end with a lower-case letter or a digit';
  return undefined;
}

/** Label keys: `^[a-z][a-z0-9_.-]{0,62}$`. */
export function labelKeyProblem(key: string): string | undefined {
  if (key === '') return 'is empty';
  if (key.length > MAX_LABEL_KEY_LENGTH) return tooLong(key.length, MAX_LABEL_KEY_LENGTH);
  for (const ch of key) {
    if (/[A-Z]/.test(ch)) return `contains upper-case ${describeChar(ch)}; label keys are lower-case`;
    if (!/[a-z0-9_.-]/.test(ch)) {
      return `contains ${describeChar(ch)}; only a-z, 0-9, '_', '.' and '-' are allowed`;
    }
  }
  if (!/^[a-z]/.test(key)) return 'must start with a lower-case letter';
  return undefined;
}
