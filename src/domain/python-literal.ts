/**
 * Python's `repr()` of a `str`, shared by `ConvertCustomConfig.toString()` (PyTorch's `__repr__`)
 * and the rendered Python snippet, where it must be a literal Python reads back unchanged.
 */

/** Python's `str.isprintable()` is false for categories Other (C*) and Separator (Z*) except ' '. */
const NON_PRINTABLE = /^[\p{C}\p{Z}]$/u;

function hexEscape(code: number): string {
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  if (code <= 0xffff) return `\\u${code.toString(16).padStart(4, '0')}`;
  return `\\U${code.toString(16).padStart(8, '0')}`;
}

/**
 * Mirrors CPython's `unicode_repr`: single quotes unless the text contains `'` and no `"`;
 * backslash and the chosen quote escaped; `\t`, `\n`, `\r` by name; other non-printable code
 * points (including lone surrogates) as `\xhh`, `\uhhhh` or `\Uhhhhhhhh`; printable non-ASCII
 * kept as is.
 */
export function pythonStringLiteral(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let body = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === quote || ch === '\\') body += `\\${ch}`;
    else if (ch === '\t') body += '\\t';
    else if (ch === '\n') body += '\\n';
    else if (ch === '\r') body += '\\r';
    else if (ch !== ' ' && NON_PRINTABLE.test(ch)) body += hexEscape(code);
    else body += ch;
  }
  return `${quote}${body}${quote}`;
}
