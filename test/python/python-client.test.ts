// The Python package (clients/python) as its users run it: installed with pip into a venv of the
// Python with real PyTorch (test/support/python.ts), its pytest suite (clients/python/tests) run
// file by file against the registry as a real process on each database, secured with an admin
// token. A small control server lets the tests stop and start that process (same port, same
// database) to prove that watching survives a restart. Every pytest test must pass: a failure,
// an error or a skip fails here, and so does a machine without real torch.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, BACKENDS, type TestDatabase } from '../support/databases.js';
import { installPythonPackage, pythonEnvironment, type PythonVenv } from '../support/python.js';
import { startServer, type ServerProcess } from '../support/server-process.js';

const run = promisify(execFile);
const TESTS = join(import.meta.dirname, '..', '..', 'clients/python/tests');
const FILES = readdirSync(TESTS).filter((f) => /^test_.*\.py$/.test(f)).sort();
const ADMIN_TOKEN = 'python-suite-admin-0123456789abcdef';

/** The registry process under test, restartable on the port it first got. */
class RestartableRegistry {
  private server: (ServerProcess & { baseUrl: string }) | undefined;
  private port = '0';

  constructor(private readonly databaseUrl: string) {}

  get baseUrl(): string {
    if (this.server === undefined) throw new Error('the registry is not running');
    return this.server.baseUrl;
  }

  async start(): Promise<void> {
    if (this.server !== undefined) return;
    this.server = await startServer({ DATABASE_URL: this.databaseUrl, REGISTRY_ADMIN_TOKEN: ADMIN_TOKEN, PORT: this.port });
    this.port = new URL(this.server.baseUrl).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await server?.stop('SIGTERM');
  }
}

/** POST /stop and POST /start, answered once done. */
function controlServer(registry: RestartableRegistry): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const action = request.method === 'POST' ? { '/stop': () => registry.stop(), '/start': () => registry.start() }[request.url ?? ''] : undefined;
    if (action === undefined) {
      response.writeHead(404).end();
      return;
    }
    action().then(
      () => response.writeHead(200).end('ok'),
      (error: Error) => response.writeHead(500).end(error.message),
    );
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })),
  );
}

/** The counts of a JUnit XML report (pytest --junitxml). */
function junitCounts(xml: string): Record<'tests' | 'failures' | 'errors' | 'skipped', number> {
  const suite = /<testsuite\b[^>]*>/.exec(xml)?.[0] ?? '';
  const count = (name: string) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(suite)?.[1] ?? NaN);
  return { tests: count('tests'), failures: count('failures'), errors: count('errors'), skipped: count('skipped') };
}

let venv: PythonVenv;
beforeAll(async () => {
  venv = await installPythonPackage();
}, 180_000);
afterAll(async () => venv?.remove());

describe.each(BACKENDS)('the Python package against the registry (%s)', (kind) => {
  let database: TestDatabase;
  let registry: RestartableRegistry;
  let control: { url: string; server: Server };
  beforeAll(async () => {
    database = await createTestDatabase(kind);
    registry = new RestartableRegistry(database.url);
    await registry.start();
    control = await controlServer(registry);
  }, 90_000);
  afterAll(async () => {
    control?.server.close();
    await registry?.stop();
    await database?.drop();
  });

  it.each(FILES)('%s', async (file) => {
    const report = join(venv.dir, `junit-${kind}-${file}.xml`);
    const env = pythonEnvironment(venv, {
      CONVERT_CONFIG_REGISTRY_URL: registry.baseUrl,
      CONVERT_CONFIG_REGISTRY_TOKEN: ADMIN_TOKEN,
      REGISTRY_TEST_CONTROL: control.url,
    });
    try {
      // From the venv's folder, so that neither the checkout nor its src/ is on sys.path.
      await run(venv.python, ['-m', 'pytest', join(TESTS, file), '-q', '--tb=short', '-rfEs', `--junitxml=${report}`], {
        cwd: venv.dir,
        env,
        timeout: 300_000,
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; message: string };
      throw new Error(`pytest ${file} failed (${kind}):\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
    const counts = junitCounts(await readFile(report, 'utf8'));
    expect(counts, `pytest ${file} (${kind})`).toEqual({ tests: counts.tests, failures: 0, errors: 0, skipped: 0 });
    expect(counts.tests).toBeGreaterThan(0);
  }, 300_000);
});
