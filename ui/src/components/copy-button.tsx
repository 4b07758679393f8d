import { useState } from 'preact/hooks';

/**
 * Copies `text`. The Clipboard API needs a secure context (https, or localhost); a registry
 * served over plain HTTP inside a network is neither, so the old select-and-copy path is the
 * fallback there.
 */
export function CopyButton({ text, label }: { text: string | undefined; label: string }) {
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  async function copy() {
    if (text === undefined) return;
    let ok = false;
    try {
      await navigator.clipboard.writeText(text);
      ok = true;
    } catch {
      ok = copyBySelection(text);
    }
    setCopied(ok ? 'yes' : 'no');
    setTimeout(() => setCopied(null), 2500);
  }
  return (
    <span class="copy">
      <button type="button" onClick={copy} disabled={text === undefined}>
        {label}
      </button>
      <span class="copy-status" role="status">
        {copied === 'yes' ? 'Copied' : copied === 'no' ? 'Could not copy: select the text below' : ''}
      </span>
    </span>
  );
}

function copyBySelection(text: string): boolean {
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'offscreen';
  document.body.append(area);
  area.select();
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  } finally {
    area.remove();
  }
}
