// Spectral (`spectral:oas` plus the rules in .spectral.yaml) on the document the running service
// serves, through the same script as `npm run lint:openapi`: zero errors and zero warnings.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startService } from '../support/app.js';
import { exitOf } from '../support/exit-of.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const spectral = join(root, 'node_modules/.bin/spectral');

describe('OpenAPI lint', () => {
  it('the served document has no Spectral error or warning (npm run lint:openapi, from source)', async () => {
    const { code, output } = await exitOf(
      run(process.execPath, ['--import', 'tsx', 'scripts/lint-openapi.ts', '--from-source'], { cwd: root, timeout: 120_000 }),
    );
    expect(output).toContain("No results with a severity of 'warn' or higher found!");
    expect(code, output).toBe(0);
  }, 120_000);

  it('the ruleset fails on warnings, and on errors that are not problem+json', async () => {
    const svc = await startService('sqlite');
    const dir = await mkdtemp(join(tmpdir(), 'registry-spectral-'));
    try {
      const doc = (await svc.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      doc.components.schemas.NobodyUsesMe = { type: 'string' };
      const notFound = doc.paths['/v1/configs/{name}'].get.responses['404'];
      notFound.content = { 'application/json': notFound.content['application/problem+json'] };
      const file = join(dir, 'openapi.json');
      await writeFile(file, JSON.stringify(doc));
      const { code, output } = await exitOf(
        run(spectral, ['lint', '--ruleset', join(root, '.spectral.yaml'), '--fail-severity=warn', file], { timeout: 120_000 }),
      );
      expect(output).toMatch(/warning\s+oas3-unused-component/);
      expect(output).toMatch(/error\s+problem-responses-are-problem-json/);
      expect(code).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await svc.close();
    }
  }, 120_000);
});
