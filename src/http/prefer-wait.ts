/** The longest wait a client may ask for, in seconds (API.md: `Prefer: wait=<1..60>`, `wait=<0..60>`). */
export const MAX_WAIT_SECONDS = 60;

/**
 * The `wait` preference of a `Prefer` header (RFC 7240 §4.3), in whole seconds, or undefined when
 * there is none the server can apply. Preferences are advice, not commands (§2): one that cannot
 * be read (`wait=soon`, `wait=0`) is ignored rather than refused, and one beyond
 * MAX_WAIT_SECONDS is honoured as far as the server goes, which `Preference-Applied` then says.
 *
 * Grammar: `Prefer: 1#( token [ "=" word ] *( ";" parameter ) )`, tokens case-insensitive, the
 * value a token or a quoted string; the header may be repeated (Node joins repeats with ", ").
 */
export function preferredWait(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(',') : header;
  for (const preference of text.split(',')) {
    const match = /^\s*wait\s*=\s*(?:"(\d{1,10})"|(\d{1,10}))\s*(?:;.*)?$/i.exec(preference);
    if (match === null) continue;
    const seconds = Number(match[1] ?? match[2]);
    if (seconds < 1) return undefined;
    return Math.min(seconds, MAX_WAIT_SECONDS);
  }
  return undefined;
}
