// Lints the OpenAPI document the running service serves, not a copy: starts the service on a
// temporary SQLite database and a free port, fetches /openapi.json, runs Spectral with the
// committed .spectral.yaml (zero errors and zero warnings: --fail-severity=warn), stops it.
//
//   npm run lint:openapi                          the built service (dist/main.js)
//   node --import tsx scripts/lint-openapi.ts --from-source    src/main.ts through tsx
//   ... -- --format json                          anything after `--` goes to spectral
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const dash = args.indexOf('--');
  const ownArgs = dash === -1 ? args : args.slice(0, dash);
  const spectralArgs = dash === -1 ? [] : args.slice(dash + 1);
  const fromSource = ownArgs.includes('--from-source');

  const dir = await mkdtemp(join(tmpdir(), 'registry-openapi-lint-'));
  const entry = fromSource ? ['--import', 'tsx', join(root, 'src/main.ts')] : [join(root, 'dist/main.js')];
  const service = spawn(process.execPath, entry, {
    cwd: root,
    env: { ...process.env, DATABASE_URL: `file:${join(dir, 'registry.db')}`, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const baseUrl = await listeningAddress(service);
    const response = await fetch(`${baseUrl}/openapi.json`);
    if (response.status !== 200) throw new Error(`GET /openapi.json answered ${response.status}`);
    const document = join(dir, 'openapi.json');
    await writeFile(document, await response.text());
    const spectral = spawn(
      join(root, 'node_modules/.bin/spectral'),
      ['lint', '--ruleset', join(root, '.spectral.yaml'), '--fail-severity=warn', ...spectralArgs, document],
      { stdio: 'inherit' },
    );
    const [code] = (await once(spectral, 'exit')) as [number | null];
    return code ?? 1;
  } finally {
    if (service.exitCode === null) {
      service.kill('SIGTERM');
      await once(service, 'exit');
    }
    await rm(dir, { recursive: true, force: true });
  }
}

/** The service logs (pino JSON) `Server listening at http://...` once it accepts connections. */
function listeningAddress(service: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: service.stdout! });
    const timer = setTimeout(() => reject(new Error('the service did not start listening within 30 s')), 30_000);
    service.once('exit', (code) => reject(new Error(`the service exited (${code}) before listening`)));
    lines.on('line', (line) => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`lint-openapi: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
