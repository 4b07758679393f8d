// Just enough of the Dockerfile and .dockerignore languages to read this repository's files: the
// tests that keep the Dockerfile in step with CI, and scripts/container-dry-run.ts, which runs its
// steps without a Docker engine. Not a general parser: no heredocs, no parser directives beyond
// comments, no variable substitution.

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY, ... */
  readonly keyword: string;
  /** The rest of the instruction, continuation lines joined with a space. */
  readonly args: string;
  /** 1-based line where the instruction starts. */
  readonly line: number;
}

export interface Stage {
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

export function parseDockerfile(text: string): Stage[] {
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    if (pending === undefined && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    // Comment lines inside a continued instruction are dropped, as Docker does.
    if (pending !== undefined && line.trimStart().startsWith('#')) return;
    const continued = line.endsWith('\\');
    const body = continued ? line.slice(0, -1) : line;
    pending = pending === undefined ? { text: body.trim(), line: index + 1 } : { ...pending, text: `${pending.text} ${body.trim()}` };
    if (!continued) {
      const match = /^(\S+)\s*(.*)$/.exec(pending.text)!;
      instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: pending.line });
      pending = undefined;
    }
  });
  if (pending !== undefined) throw new Error(`Dockerfile line ${pending.line}: the file ends inside a continued instruction`);

  const stages: Array<{ image: string; name: string | undefined; instructions: Instruction[] }> = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const match = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (match === null) throw new Error(`Dockerfile line ${instruction.line}: cannot read FROM ${instruction.args}`);
      stages.push({ image: match[1]!, name: match[2], instructions: [] });
    } else if (instruction.keyword === 'ARG' && stages.length === 0) {
      // A global ARG before the first FROM: not used here.
    } else {
      const stage = stages.at(-1);
      if (stage === undefined) throw new Error(`Dockerfile line ${instruction.line}: ${instruction.keyword} before FROM`);
      stage.instructions.push(instruction);
    }
  }
  return stages;
}

/** The exec form (`["a", "b"]`) as an argv, or null for the shell form. */
export function execForm(args: string): string[] | null {
  if (!args.startsWith('[')) return null;
  const parsed = JSON.parse(args) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) throw new Error(`not an exec form: ${args}`);
  return parsed;
}

/** `ENV A=1 B="two words"` (the `ENV A 1` legacy form too). */
export function parseEnv(args: string): Record<string, string> {
  const env: Record<string, string> = {};
  const legacy = /^([A-Za-z_][A-Za-z0-9_]*)\s+([^=]*)$/.exec(args);
  if (legacy !== null) {
    env[legacy[1]!] = legacy[2]!;
    return env;
  }
  for (const match of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const value = match[2]!;
    env[match[1]!] = value.startsWith('"') ? (JSON.parse(value) as string) : value;
  }
  return env;
}

export interface Copy {
  readonly from: string | undefined;
  readonly sources: readonly string[];
  readonly destination: string;
}

export function parseCopy(args: string): Copy {
  const words = args.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    const fromFlag = /^--from=(.+)$/.exec(flag);
    if (fromFlag !== null) from = fromFlag[1];
  }
  const destination = words.pop();
  if (destination === undefined || words.length === 0) throw new Error(`COPY needs a source and a destination: ${args}`);
  return { from, sources: words, destination };
}

export interface Healthcheck {
  readonly options: Record<string, string>;
  /** The command as an argv (exec form) or a shell command line. */
  readonly command: string[] | string;
}

export function parseHealthcheck(args: string): Healthcheck {
  const options: Record<string, string> = {};
  let rest = args;
  for (;;) {
    const match = /^--([a-z-]+)=(\S+)\s+/.exec(rest);
    if (match === null) break;
    options[match[1]!] = match[2]!;
    rest = rest.slice(match[0].length);
  }
  const cmd = /^CMD\s+(.*)$/s.exec(rest);
  if (cmd === null) throw new Error(`HEALTHCHECK without CMD: ${args}`);
  return { options, command: execForm(cmd[1]!) ?? cmd[1]! };
}

/** Docker durations like `10s`, `1m30s`, `500ms`, in milliseconds. */
export function durationMs(text: string): number {
  let total = 0;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(match[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  }
  return total;
}

/**
 * .dockerignore as a predicate over context-relative paths (`src/main.ts`). Patterns as Docker
 * reads them: relative to the context root, `*` and `?` within one path segment, `**` across
 * segments, a match on a directory excluding everything below it, `!` re-including.
 */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const pattern = (negate ? line.slice(1) : line).replace(/^\/+|\/+$/g, '');
      const source = pattern
        .split(/(\*\*|\*|\?)/)
        .map((part) =>
          part === '**' ? '.*' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
        )
        .join('');
      return { negate, regex: new RegExp(`^${source}(/.*)?$`) };
    });
  return (path: string) => {
    let ignored = false;
    for (const rule of rules) if (rule.regex.test(path)) ignored = !rule.negate;
    return ignored;
  };
}
