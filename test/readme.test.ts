// Every example in README.md is run, in order, against a listening server: the blocks marked
// `<!-- tested: sh|ts|python|python-background -->`. No block that uses the API may go unmarked.
// Python runs in a venv of the interpreter with real PyTorch, with the package installed
// (test/support/python.ts), as a user's shell would have it.
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from './support/app.js';
import { BACKENDS } from './support/databases.js';
import { installPythonPackage, pythonEnvironment, type PythonVenv } from './support/python.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');

interface Example {
  /**
   * `sh-admin`: a shell example for a registry started with REGISTRY_ADMIN_TOKEN (see below).
   * `python-background`: a long-running Python example (a watcher), started, and once it has
   * printed its first line left running while the examples after it run; it must end by itself
   * once they have done their part.
   */
  kind: 'sh' | 'sh-admin' | 'ts' | 'python' | 'python-background';
  code: string;
  line: number;
}

/** Fenced blocks of a markdown text, each with the `<!-- tested: kind -->` marker above it, if any. */
function fencedBlocks(markdown: string): Array<{ marker?: string; language: string; code: string; line: number }> {
  const blocks = [];
  const pattern = /(?:<!-- tested: ([\w-]+) -->\n)?```(\w*)\n([\s\S]*?)```/g;
  for (const match of markdown.matchAll(pattern)) {
    const line = markdown.slice(0, match.index).split('\n').length;
    blocks.push({ ...(match[1] ? { marker: match[1] } : {}), language: match[2]!, code: match[3]!, line });
  }
  return blocks;
}

async function readmeExamples(): Promise<Example[]> {
  const blocks = fencedBlocks(await readFile(join(root, 'README.md'), 'utf8'));
  return blocks.filter((b) => b.marker !== undefined).map((b) => ({ kind: b.marker as Example['kind'], code: b.code, line: b.line }));
}

/** The README talks to `localhost:8080`; the test server listens elsewhere. */
function pointAt(code: string, baseUrl: string): string {
  const hostPort = new URL(baseUrl).host;
  return code.replaceAll('http://localhost:8080', baseUrl).replaceAll('localhost:8080', hostPort);
}

async function exec(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }, what: string) {
  try {
    return await run(file, args, { ...options, timeout: 120_000 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${what} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/**
 * Starts a long-running example: `started` once it printed its first line, `done` with its
 * stdout once it exits 0 (killed after 60 s).
 */
function runInBackground(
  file: string,
  script: string,
  options: { cwd: string; env: NodeJS.ProcessEnv },
  what: string,
): { started: Promise<void>; done: Promise<string> } {
  const child = spawn(file, [script], { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<string>((resolve, reject) => {
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${what} exited with ${code ?? signal}:\n${out}${err}`));
    });
  });
  const started = new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('\n')) resolve();
    });
    done.then(() => resolve(), reject);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  return { started, done };
}

describe('README.md', () => {
  it('marks every example that uses the API as tested, with a known kind', async () => {
    const blocks = fencedBlocks(await readFile(join(root, 'README.md'), 'utf8'));
    const usesApi = /curl |openapi-fetch|openapi-typescript|convert_config_registry|\/v1\//;
    // `text` blocks show output (e.g. log lines), not something to run.
    const untested = blocks.filter((b) => b.marker === undefined && b.language !== 'text' && usesApi.test(b.code));
    expect(untested.map((b) => `README.md:${b.line}`)).toEqual([]);
    for (const b of blocks.filter((x) => x.marker !== undefined)) {
      expect(['sh', 'sh-admin', 'ts', 'python', 'python-background'], `README.md:${b.line}`).toContain(b.marker);
      expect(b.language, `README.md:${b.line}: the marker names the block's language`).toBe(
        b.marker === 'sh' || b.marker === 'sh-admin' ? 'sh' : b.marker === 'ts' ? 'ts' : 'python',
      );
    }
    const kinds = new Set((await readmeExamples()).map((e) => e.kind));
    expect(kinds).toEqual(new Set(['sh', 'sh-admin', 'ts', 'python', 'python-background']));
  });
});

describe.each(BACKENDS)('README.md examples against a listening server (%s)', (kind) => {
  let svc: TestService;
  let baseUrl: string;
  let workdir: string;
  let venv: PythonVenv;
  beforeAll(async () => {
    venv = await installPythonPackage();
    svc = await startService(kind);
    baseUrl = await svc.listen();
    // Inside the project, so the TypeScript example resolves openapi-fetch from node_modules; but
    // a project of its own, as a user would make it (`npm init -y`, `npx tsc --init`): the README
    // must say what else the example needs.
    await mkdir(join(root, '.tmp'), { recursive: true });
    workdir = await mkdtemp(join(root, '.tmp', 'readme-'));
    await exec('npm', ['init', '-y'], { cwd: workdir }, 'npm init -y');
    await exec(join(root, 'node_modules/.bin/tsc'), ['--init'], { cwd: workdir }, 'tsc --init');
  });
  afterAll(async () => {
    await rm(workdir, { recursive: true, force: true });
    await venv?.remove();
    await svc?.close();
  });

  it('runs every example in order, and they do what they say', async () => {
    const examples = (await readmeExamples()).filter((e) => e.kind !== 'sh-admin');
    expect(examples.length).toBeGreaterThanOrEqual(5);
    const env = pythonEnvironment(venv, { PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH ?? ''}` });
    const outputs: string[] = [];
    const background: Array<Promise<string>> = [];
    for (const [i, example] of examples.entries()) {
      const code = pointAt(example.code, baseUrl);
      const what = `README.md:${example.line} (${example.kind})`;
      if (example.kind === 'sh') {
        // Any HTTP error fails the example (the README's `curl -s` alone would not).
        const script = `set -euo pipefail\ncurl() { command curl --fail-with-body --show-error "$@"; }\n${code}`;
        outputs.push((await exec('bash', ['-c', script], { cwd: workdir, env }, what)).stdout);
      } else if (example.kind === 'ts') {
        const file = `example-${i}.ts`;
        await writeFile(join(workdir, file), code);
        // The project's tsconfig.json is tsc --init's, as is.
        await exec(join(root, 'node_modules/.bin/tsc'), ['--noEmit', '-p', 'tsconfig.json'], { cwd: workdir, env }, `${what} tsc --noEmit`);
        outputs.push((await exec(process.execPath, ['--import', 'tsx', file], { cwd: workdir, env }, what)).stdout);
      } else {
        const file = `example_${i}.py`;
        await writeFile(join(workdir, file), code);
        if (example.kind === 'python') outputs.push((await exec(venv.python, [file], { cwd: workdir, env }, what)).stdout);
        else {
          const running = runInBackground(venv.python, file, { cwd: workdir, env }, what);
          background.push(running.done);
          await running.started;
        }
      }
    }
    outputs.push(...(await Promise.all(background)));
    const all = outputs.join('\n');
    // What the examples print is what they say they print: a config, not `<... object at 0x7f...>`.
    expect(all).not.toMatch(/ object at 0x[0-9a-f]+/);
    expect(all).toContain('"version":1');
    expect(all).toContain('HTTP/1.1 200 OK');
    expect(all).toMatch(/etag: "1"/i);
    expect(all).toContain('.set_observed_to_quantized_mapping(torch.ao.nn.quantizable.LSTM, torch.ao.nn.quantized.LSTM, QuantType.STATIC)');
    expect(all).toContain('now version 4');
    expect(all).toMatch(/^5 \{/m);
    expect(all).toMatch(/^my_pkg\.quantized\.CustomLinear$/m);
    expect(all).toMatch(/^\{'observed_to_quantized_custom_module_class': \{'static': \{<class 'torch\.ao\.nn\.quantizable\.modules\.rnn\.LSTM'>/m);
    // Aliases, the feed, dry run and validate.
    expect(all).toMatch(/content-location: \/v1\/configs\/resnet50-int8\/versions\/3/i);
    expect(all).toContain('"alias":"production","version":5,"protected":false,"moves":2');
    expect(all).toMatch(/x-registry-revision: \d+/i);
    expect(all).toMatch(/"type":"alias\.set","at":"[^"]+","by":"anonymous","name":"resnet50-int8","version":3,"alias":"production"/);
    expect(all).toMatch(/x-dry-run: true/i);
    expect(all).toMatch(/"warnings":\["[^"]*qat/);
    // The training job watching production saw the reviewer move it back to 4.
    expect(all).toContain('training with version 5\nproduction is now version 4 {');

    // "Watching": the long-polls were answered by the writes they waited for, the stream sent them.
    expect(all).toMatch(/"type":"config\.version_created"[^}]*"name":"mobilenet-int8","version":1/);
    expect(all).toMatch(/^preference-applied: wait=30\r?$/im);
    expect(all).toMatch(/^etag: "2"\r?$/im);
    expect(all).toMatch(/^event: config\.version_created\ndata: \{[^\n]*"name":"mobilenet-int8","version":2/m);

    // What the examples did, as the service sees it.
    const production = await svc.app.inject({ method: 'GET', url: '/v1/configs/resnet50-int8/aliases/production' });
    expect(production.json()).toMatchObject({ version: 4, moves: 3 });
    const res = await svc.app.inject({ method: 'GET', url: '/v1/configs/resnet50-int8' });
    expect(res.headers.etag).toBe('"5"');
    expect(res.json()).toMatchObject({
      description: 'LSTM head',
      labels: { team: 'vision', stage: 'dev' },
      config: {
        observed_to_quantized_custom_module_class: {
          static: {
            'torch.ao.nn.quantizable.LSTM': 'torch.ao.nn.quantized.LSTM',
            'my_pkg.observed.CustomLinear': 'my_pkg.quantized.CustomLinear',
          },
          dynamic: { 'torch.ao.nn.quantizable.LSTM': 'torch.ao.nn.quantized.LSTM' },
        },
        preserved_attributes: ['attr1', 'attr2'],
      },
    });
  }, 180_000);
});

/** The token-management example, against a registry whose bootstrap admin token is set. */
describe.each(BACKENDS)('README.md admin examples against a listening server (%s)', (kind) => {
  const adminToken = 'readme-admin-0123456789abcdef';
  let svc: TestService;
  let baseUrl: string;
  beforeAll(async () => {
    svc = await startService(kind, { registry: { adminToken } });
    baseUrl = await svc.listen();
  });
  afterAll(async () => svc?.close());

  it('creates, lists and revokes a token as shown', async () => {
    const examples = (await readmeExamples()).filter((e) => e.kind === 'sh-admin');
    expect(examples.length).toBeGreaterThanOrEqual(1);
    const env = { ...process.env, REGISTRY_ADMIN_TOKEN: adminToken };
    let out = '';
    for (const example of examples) {
      const script = `set -euo pipefail\ncurl() { command curl --fail-with-body --show-error "$@"; }\n${pointAt(example.code, baseUrl)}`;
      out += (await exec('bash', ['-c', script], { cwd: root, env }, `README.md:${example.line} (sh-admin)`)).stdout;
    }
    expect(out).toMatch(/"name":"ci-vision","role":"writer","token":"ccr_/);
    expect(out).not.toContain(adminToken);
    const list = await svc.app.inject({ method: 'GET', url: '/v1/tokens', headers: { authorization: `Bearer ${adminToken}` } });
    expect(list.json().items).toEqual([]);
  });
});
