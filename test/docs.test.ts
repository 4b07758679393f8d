// docs/api.md, the API guide, against the OpenAPI document the service serves: every operation is
// listed (with its operationId), every path the guide names exists, every status it lists for an
// operation is declared for it, and its table of problem types is the service's own.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBLEM_TYPES } from '../src/http/problem-types.js';
import { startService, type TestService } from './support/app.js';
import { documentedResponse, operations, type OpenApiDocument } from './support/openapi-contract.js';

const root = join(import.meta.dirname, '..');

interface OperationEntry {
  method: string;
  path: string;
  operationId?: string;
  text: string;
  line: number;
}

/** List items that begin with `` `METHOD /path` ``, each with the text of the whole item. */
function operationEntries(markdown: string): OperationEntry[] {
  const lines = markdown.split('\n');
  const entries: OperationEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const start = /^\s*- `(GET|PUT|POST|PATCH|DELETE) (\/[^`\s]*)`(?: \[([A-Za-z]+)\])?/.exec(lines[i]!);
    if (start === null) continue;
    let text = lines[i]!;
    // The item goes on over its indented continuation lines, up to the next item or a blank line.
    for (let j = i + 1; j < lines.length && /^\s+\S/.test(lines[j]!) && !/^\s*- /.test(lines[j]!); j++) text += `\n${lines[j]}`;
    entries.push({ method: start[1]!.toLowerCase(), path: start[2]!, ...(start[3] ? { operationId: start[3] } : {}), text, line: i + 1 });
  }
  return entries;
}

const templateRegex = (template: string) =>
  new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`);

describe('docs/api.md', () => {
  let svc: TestService;
  let doc: OpenApiDocument;
  let guide: string;
  beforeAll(async () => {
    svc = await startService('sqlite');
    doc = (await svc.app.inject({ method: 'GET', url: '/openapi.json' })).json<OpenApiDocument>();
    guide = await readFile(join(root, 'docs/api.md'), 'utf8');
  });
  afterAll(async () => svc?.close());

  it('lists every operation of the OpenAPI document, with its operationId', () => {
    const entries = operationEntries(guide);
    expect(entries.length).toBeGreaterThanOrEqual(30);
    for (const { method, path, operation } of operations(doc)) {
      const entry = entries.find((e) => e.method === method && e.path === path);
      expect(entry, `${method.toUpperCase()} ${path} is not in docs/api.md`).toBeDefined();
      expect(entry!.operationId, `docs/api.md:${entry!.line}`).toBe(operation.operationId);
    }
  });

  it('lists for each operation only statuses the document declares for it', () => {
    const undeclared: string[] = [];
    for (const entry of operationEntries(guide)) {
      const operation = doc.paths[entry.path]?.[entry.method];
      expect(operation, `docs/api.md:${entry.line}: ${entry.method.toUpperCase()} ${entry.path} is not an operation`).toBeDefined();
      // Three-digit numbers from 200 to 599 in an item are statuses (the guide writes no others there).
      for (const [status] of entry.text.matchAll(/(?<![\d.=])\b[2-5]\d\d\b(?![\d.])/g)) {
        if (documentedResponse(operation!, Number(status)) === undefined) undeclared.push(`docs/api.md:${entry.line} ${entry.method} ${entry.path} ${status}`);
      }
    }
    expect(undeclared).toEqual([]);
  });

  it('names no path the service does not have', () => {
    const templates = Object.keys(doc.paths).map(templateRegex);
    const roots = new Set(Object.keys(doc.paths).map((p) => p.split('/')[1]));
    const unknown: string[] = [];
    for (const [, path] of guide.matchAll(/`(?:(?:GET|PUT|POST|PATCH|DELETE) )?(\/[^`\s]*)`/g)) {
      const bare = path!.split('?')[0]!;
      // JSON Pointers (`/config/...`) are not paths; /docs is Swagger UI, outside the document.
      if (!roots.has(bare.split('/')[1]) || bare === '/docs') continue;
      if (!templates.some((t) => t.test(bare))) unknown.push(path!);
    }
    expect(unknown).toEqual([]);
  });

  it("tables the service's problem types, each linked to its page", () => {
    const rows = [...guide.matchAll(/^\| (\d{3}) \| \[`\/problems\/([a-z-]+)`\]\(http:\/\/127\.0\.0\.1:8080\/problems\/([a-z-]+)\) \| ([^|]+) \|$/gm)];
    expect(rows.map((r) => [Number(r[1]), r[2], r[3], r[4]!.trim()])).toEqual(PROBLEM_TYPES.map((t) => [t.status, t.slug, t.slug, t.title]));
  });

  it('is the guide the README points to (nothing outside the repository)', async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    expect(readme.includes('(docs/api.md)'), 'README.md links docs/api.md').toBe(true);
    expect(readme.includes('../shared'), 'README.md points outside the repository').toBe(false);
    expect(guide.includes('../shared'), 'docs/api.md points outside the repository').toBe(false);
  });
});
