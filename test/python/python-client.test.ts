// The Python client and the /python snippet, run by the machine's python3 against a listening
// server on each database, with the fake torch of test/fixtures/python on PYTHONPATH.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerClasses, startService, type TestService } from '../support/app.js';
import { BACKENDS } from '../support/databases.js';
import { pythonEnvironment } from '../support/python.js';

const run = promisify(execFile);

/** The user's own classes (test/fixtures/python/my_pkg), and two whose Python import fails. */
const MY_PKG_CLASSES = [
  { id: 'my_pkg.observed.CustomLinear' },
  { id: 'my_pkg.quantized.CustomLinear', fromObserved: true },
  { id: 'my_pkg.missing.Thing', fromObserved: true },
  { id: 'my_pkg.quantized.NoSuchClass', fromObserved: true },
];

const SUITES = ['SnippetTest', 'LoadTest', 'PushTest', 'TokenTest', 'CompatibilityTest'];

/** `python3 -m unittest -v <target>` in this folder; fails with Python's own report. */
async function unittest(target: string, env: Record<string, string> = {}): Promise<string> {
  try {
    const result = await run('python3', ['-m', 'unittest', '-v', target], {
      cwd: import.meta.dirname,
      env: pythonEnvironment(env),
      timeout: 60_000,
    });
    return result.stdout + result.stderr;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    throw new Error(`python3 -m unittest ${target} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

describe('the fake torch', () => {
  it("behaves as PyTorch's ConvertCustomConfig on the golden vectors", async () => {
    const output = await unittest('test_fake_torch');
    expect(output).toMatch(/Ran 1 test.*\n+OK\s*$/s);
  });
});

describe.each(BACKENDS)('Python client and snippet (%s)', (kind) => {
  let svc: TestService;
  let baseUrl: string;
  let snippetDir: string;
  beforeAll(async () => {
    svc = await startService(kind);
    baseUrl = await svc.listen();
    await registerClasses(svc.app, MY_PKG_CLASSES);
    snippetDir = await mkdtemp(join(tmpdir(), 'registry-python-'));
  });
  afterAll(async () => {
    await rm(snippetDir, { recursive: true, force: true });
    await svc?.close();
  });

  it.each(SUITES)('%s', async (suite) => {
    const output = await unittest(`test_python_client.${suite}`, { REGISTRY_URL: baseUrl, SNIPPET_DIR: snippetDir });
    expect(output).toMatch(/\nOK\s*$/);
    expect(output).toMatch(/Ran [1-9]\d* tests?/);
  }, 60_000);
});
