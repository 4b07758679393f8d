// The generated TypeScript client, as a user builds it: openapi-typescript reads the document
// the listening service serves, `tsc --noEmit` checks scenario.ts against those types, and the
// scenario runs through openapi-fetch against a listening server on each database. Every
// response it gets is also checked against the document (status, content type, body schema).
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../support/app.js';
import { BACKENDS } from '../support/databases.js';
import { ContractChecker, fetchDocument, type ObservedResponse } from '../support/openapi-contract.js';
import { exitOf } from '../support/exit-of.js';

const run = promisify(execFile);
const here = import.meta.dirname;
const root = join(here, '..', '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const generatedDir = join(here, 'generated');
const generatedTypes = join(generatedDir, 'registry-api.ts');

/** openapi-typescript, the CLI a user runs, on a URL or a file. */
async function generate(source: string, output: string): Promise<void> {
  await run(bin('openapi-typescript'), [source, '--output', output], { cwd: root, timeout: 60_000 });
}

/** What scenario.ts exports (it cannot be imported statically, see below). */
interface Scenario {
  runScenario(baseUrl: string, onResponse?: (seen: ObservedResponse) => void): Promise<string[]>;
}

let generatedFrom: string;

beforeAll(async () => {
  const svc = await startService('sqlite');
  try {
    const baseUrl = await svc.listen();
    await rm(generatedDir, { recursive: true, force: true });
    await mkdir(generatedDir, { recursive: true });
    await generate(`${baseUrl}/openapi.json`, generatedTypes);
    generatedFrom = JSON.stringify(await fetchDocument(baseUrl));
  } finally {
    await svc.close();
  }
}, 60_000);

describe('generated TypeScript client', () => {
  it('names the resource types and types problems as errors', async () => {
    const types = await readFile(generatedTypes, 'utf8');
    for (const name of ['ConvertCustomConfigDict', 'Config', 'ConfigVersion', 'ModuleClass', 'Problem', 'PutConfig', 'ConfigMergePatch']) {
      expect(types).toMatch(new RegExp(`^ {8}${name}: \\{`, 'm'));
    }
    expect(types).not.toMatch(/Input\b/);
    expect(types).toContain('"application/problem+json": components["schemas"]["Problem"]');
    expect(types).toContain('"application/merge-patch+json": components["schemas"]["ConfigMergePatch"]');
  });

  it('type-checks the scenario against the generated types (tsc --noEmit)', async () => {
    const { code, output } = await exitOf(run(bin('tsc'), ['--noEmit', '-p', join(here, 'tsconfig.json')], { cwd: root, timeout: 120_000 }));
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 120_000);

  it('does not type-check when the contract changes under the client', async () => {
    // The same scenario against a document whose Config lost its `version`.
    const broken = join(generatedDir, 'broken');
    await mkdir(join(broken, 'generated'), { recursive: true });
    const doc = JSON.parse(generatedFrom);
    delete doc.components.schemas.Config.properties.version;
    doc.components.schemas.Config.required = doc.components.schemas.Config.required.filter((p: string) => p !== 'version');
    await writeFile(join(broken, 'openapi.json'), JSON.stringify(doc));
    await generate(join(broken, 'openapi.json'), join(broken, 'generated', 'registry-api.ts'));
    await cp(join(here, 'scenario.ts'), join(broken, 'scenario.ts'));
    await writeFile(
      join(broken, 'tsconfig.json'),
      JSON.stringify({ extends: '../../../../tsconfig.json', include: ['scenario.ts', 'generated/registry-api.ts'], exclude: [] }),
    );
    const { code, output } = await exitOf(run(bin('tsc'), ['--noEmit', '-p', join(broken, 'tsconfig.json')], { cwd: root, timeout: 120_000 }));
    expect(output).toMatch(/scenario\.ts\(\d+,\d+\): error TS2339: Property 'version' does not exist/);
    expect(code).not.toBe(0);
  }, 120_000);
});

describe.each(BACKENDS)('generated TypeScript client against a listening server (%s)', (kind) => {
  let svc: TestService;
  let baseUrl: string;
  beforeAll(async () => {
    svc = await startService(kind);
    baseUrl = await svc.listen();
  });
  afterAll(async () => svc?.close());

  it('serves the document the client was generated from', async () => {
    expect(JSON.stringify(await fetchDocument(baseUrl))).toBe(generatedFrom);
  });

  it('runs the whole scenario, and every response matches the document', async () => {
    // Not a static import: the scenario imports the generated types, which exist only once
    // beforeAll has run (so the project's own tsc leaves it to the test above).
    const scenario = (await import(pathToFileURL(join(here, 'scenario.ts')).href)) as Scenario;
    const seen: ObservedResponse[] = [];
    const steps = await scenario.runScenario(baseUrl, (response) => seen.push(response));
    expect(steps).toHaveLength(11);
    const checker = new ContractChecker(JSON.parse(generatedFrom));
    expect(seen.length).toBeGreaterThan(40);
    expect(seen.flatMap((s) => checker.violations(s))).toEqual([]);
    expect(new Set(seen.map((s) => s.status))).toEqual(new Set([200, 201, 204, 304, 400, 404, 409, 412, 422]));
  }, 60_000);
});
