// Runs the Dockerfile's steps without a Docker engine (there is none on our machines), as far as
// they can run on the host:
//
//   build stage    the context (the repository minus .dockerignore) is copied by the COPY lines
//                  into a temporary /app; RUN steps run there for real: `npm ci` (with --full; by
//                  default the repository's own node_modules, dist/ and generated clients stand in
//                  for it, being what CI made with the same command), the checks, the prune.
//                  apt-get and the npm upgrade are checked against the host instead (the tools are
//                  there, npm has the same major version).
//   runtime stage  its COPY --from lines assemble a second /app from the first; its RUN lines are
//                  not run (they work on the image's own filesystem, e.g. /data); ENV is kept.
//   start          CMD runs there with the Dockerfile's ENV (PORT, HOST and DATABASE_URL pointed at
//                  the host), once per database; the HEALTHCHECK command itself must pass; a few
//                  API calls and the registry CLI must work; SIGTERM must exit 0.
//
//   npm run check:container [-- --full] [-- --database postgresql://...]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  dockerignore,
  durationMs,
  execForm,
  parseCopy,
  parseDockerfile,
  parseEnv,
  parseHealthcheck,
  type Stage,
} from './dockerfile.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface DryRunOptions {
  /** Run `npm ci` for real in the emulated build stage (minutes: compiles better-sqlite3). */
  full?: boolean;
  /** DATABASE_URLs to start the runtime on; a temporary SQLite file when empty. */
  databases?: string[];
  log?: (message: string) => void;
}

export interface DryRunResult {
  /** What ran, was checked or skipped, one line per step. */
  steps: string[];
  /** Size of the runtime /app in bytes. */
  runtimeBytes: number;
}

const APP = '/app';

export async function dryRun(options: DryRunOptions = {}): Promise<DryRunResult> {
  const log = options.log ?? (() => {});
  const steps: string[] = [];
  const step = (message: string) => {
    steps.push(message);
    log(message);
  };
  const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const ignored = dockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
  const work = mkdtempSync(join(tmpdir(), 'container-dry-run-'));
  try {
    const context = join(work, 'context');
    copyContext(ROOT, context, ignored);
    const dirs = new Map<string, string>();
    const env = new Map<string, Record<string, string>>();
    for (const [index, stage] of stages.entries()) {
      const dir = join(work, `stage-${index}`);
      mkdirSync(dir, { recursive: true });
      if (stage.name !== undefined) dirs.set(stage.name, dir);
      dirs.set(String(index), dir);
      const isLast = index === stages.length - 1;
      env.set(stage.name ?? String(index), await runStage(stage, dir, context, dirs, isLast, options, step));
    }
    const last = stages.at(-1)!;
    const runtimeDir = join(work, `stage-${stages.length - 1}`);
    const runtimeEnv = env.get(last.name ?? String(stages.length - 1))!;
    const databases = options.databases?.length ? options.databases : [`file:${join(work, 'data', 'registry.db')}`];
    for (const url of databases) await startRuntime(last, runtimeDir, runtimeEnv, url, step);
    return { steps, runtimeBytes: directoryBytes(runtimeDir) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The build context: every file under root that .dockerignore does not exclude. */
function copyContext(root: string, target: string, ignored: (path: string) => boolean): void {
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const rel = relative(root, path);
      if (ignored(rel)) continue;
      if (entry.isDirectory()) walk(path);
      else cpSync(path, join(target, rel), { preserveTimestamps: true });
    }
  };
  mkdirSync(target, { recursive: true });
  walk(root);
}

/** Emulates one stage in `dir` (its WORKDIR); returns the stage's ENV. */
async function runStage(
  stage: Stage,
  dir: string,
  context: string,
  dirs: ReadonlyMap<string, string>,
  isRuntime: boolean,
  options: DryRunOptions,
  step: (message: string) => void,
): Promise<Record<string, string>> {
  const label = stage.name ?? 'stage';
  const env: Record<string, string> = {};
  for (const { keyword, args, line } of stage.instructions) {
    const where = `${label} (Dockerfile:${line})`;
    switch (keyword) {
      case 'WORKDIR':
        if (args !== APP) throw new Error(`${where}: WORKDIR ${args}: the dry run maps only ${APP}`);
        break;
      case 'ENV':
        Object.assign(env, parseEnv(args));
        break;
      case 'COPY': {
        const copy = parseCopy(args);
        for (const source of copy.sources) {
          let from: string;
          if (copy.from === undefined) {
            from = join(context, source);
            if (!existsSync(from)) throw new Error(`${where}: COPY ${source}: not in the build context (missing, or excluded by .dockerignore)`);
          } else {
            const stageDir = dirs.get(copy.from);
            if (stageDir === undefined) throw new Error(`${where}: COPY --from=${copy.from}: no such stage`);
            if (!source.startsWith(`${APP}/`)) throw new Error(`${where}: COPY --from source outside ${APP}: ${source}`);
            from = join(stageDir, source.slice(APP.length + 1));
            if (!existsSync(from)) throw new Error(`${where}: COPY --from=${copy.from} ${source}: the stage has no such path`);
          }
          // Docker's rules: a directory's contents go into the destination; a file goes into it
          // when it names a directory (trailing slash, or several sources), else becomes it.
          const target = join(dir, copy.destination);
          const intoDirectory = copy.destination.endsWith('/') || copy.sources.length > 1;
          const to = statSync(from).isDirectory() || !intoDirectory ? target : join(target, basename(source));
          if (copy.from === undefined) cpSync(from, to, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
          else linkTree(from, to);
        }
        step(`${where}: COPY ${args}`);
        break;
      }
      case 'RUN':
        step(`${where}: ${runStep(args, dir, env, isRuntime, options)}`);
        break;
      case 'USER':
      case 'VOLUME':
      case 'EXPOSE':
      case 'HEALTHCHECK':
      case 'CMD':
      case 'LABEL':
      case 'STOPSIGNAL':
        break;
      default:
        throw new Error(`${where}: the dry run does not know ${keyword}`);
    }
  }
  return env;
}

function runStep(command: string, dir: string, env: Record<string, string>, isRuntime: boolean, options: DryRunOptions): string {
  if (isRuntime) return `not run (acts on the image's filesystem): RUN ${command}`;
  if (/\bapt-get\b/.test(command)) {
    const packages = /install\s+(?:-\S+\s+)*(.+?)(?:\s*&&|$)/.exec(command)?.[1]?.split(/\s+/).filter((p) => !p.startsWith('-')) ?? [];
    const tools: Record<string, string> = { python3: 'python3', make: 'make', 'g++': 'g++' };
    for (const pkg of packages) {
      const tool = tools[pkg];
      if (tool === undefined) throw new Error(`RUN ${command}: the dry run cannot stand in for the package ${pkg}`);
      if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) throw new Error(`${tool} is not on this host`);
    }
    return `host has ${packages.join(', ')}: RUN ${command}`;
  }
  const npmUpgrade = /^npm install -g npm@(\S+)/.exec(command);
  if (npmUpgrade !== null) {
    const host = execFileSync('npm', ['--version'], { encoding: 'utf8' }).trim();
    if (host.split('.')[0] !== npmUpgrade[1]!.split('.')[0]) {
      throw new Error(`the Dockerfile installs npm ${npmUpgrade[1]}, this host (CI) has npm ${host}: keep the majors equal`);
    }
    return `host npm ${host} (same major as ${npmUpgrade[1]}): RUN ${command}`;
  }
  if (/^npm ci\b/.test(command) && !options.full) {
    for (const path of ['node_modules', 'dist', 'src/generated', 'prisma/postgresql']) {
      if (!existsSync(join(ROOT, path))) throw new Error(`${path} is missing: run npm ci first (or use --full)`);
      linkTree(join(ROOT, path), join(dir, path));
    }
    return `stood in for by the repository's npm ci result (use --full to run it): RUN ${command}`;
  }
  const result = spawnSync('sh', ['-c', command], {
    cwd: dir,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (result.status !== 0) {
    throw new Error(`RUN ${command} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  return `ran: RUN ${command}`;
}

/**
 * Copies a tree as hard links (instant, no space: node_modules is hundreds of MB). Safe for what
 * happens to the copy here: npm prune unlinks files and replaces node_modules/.package-lock.json
 * by rename, so the original is never written through a link.
 */
function linkTree(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  if (statSync(from).isDirectory()) {
    execFileSync('cp', ['-al', from, to]);
  } else {
    cpSync(from, to, { preserveTimestamps: true });
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function startRuntime(
  stage: Stage,
  dir: string,
  imageEnv: Record<string, string>,
  databaseUrl: string,
  step: (message: string) => void,
): Promise<void> {
  const find = (keyword: string) => stage.instructions.filter((i) => i.keyword === keyword).at(-1);
  const cmd = find('CMD');
  const argv = cmd === undefined ? null : execForm(cmd.args);
  if (argv === null) throw new Error('the last stage needs an exec-form CMD');
  const healthArgs = find('HEALTHCHECK');
  if (healthArgs === undefined) throw new Error('the last stage has no HEALTHCHECK');
  const health = parseHealthcheck(healthArgs.args);
  const port = await freePort();
  // The image's environment, pointed at this host: the port is free, the database is ours.
  const env = { PATH: process.env.PATH ?? '', ...imageEnv, HOST: '127.0.0.1', PORT: String(port), DATABASE_URL: databaseUrl };
  const [command, ...args] = argv as [string, ...string[]];
  const child = spawn(command === 'node' ? process.execPath : command, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const kind = databaseUrl.startsWith('file:') ? 'SQLite' : 'PostgreSQL';
  try {
    // The HEALTHCHECK command itself decides when the service is up, within its start period.
    const deadline = Date.now() + durationMs(health.options['start-period'] ?? '0s') + 10_000;
    const check = () =>
      Array.isArray(health.command)
        ? spawnSync(health.command[0] === 'node' ? process.execPath : health.command[0]!, health.command.slice(1), { cwd: dir, env, timeout: durationMs(health.options.timeout ?? '30s') })
        : spawnSync('sh', ['-c', health.command], { cwd: dir, env });
    while (check().status !== 0) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the HEALTHCHECK never passed; the service said:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    step(`runtime on ${kind}: CMD ${argv.join(' ')} is up and its HEALTHCHECK passes`);

    const base = `http://127.0.0.1:${port}`;
    const expectStatus = async (what: string, response: Promise<Response>, status: number) => {
      const res = await response;
      if (res.status !== status) throw new Error(`${what}: ${res.status} ${await res.text()}\n${output}`);
      return res;
    };
    await expectStatus('PUT a config', fetch(`${base}/v1/configs/dry-run`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ config: { observed_to_quantized_custom_module_class: { static: { 'torch.ao.nn.quantizable.LSTM': 'torch.ao.nn.quantized.LSTM' } } } }),
    }), 201);
    await expectStatus('GET its Python', fetch(`${base}/v1/configs/dry-run/python`), 200);
    await expectStatus('GET /openapi.json', fetch(`${base}/openapi.json`), 200);
    await expectStatus('GET /docs/', fetch(`${base}/docs/`), 200);
    // The web UI, built by the image's npm ci into dist/ui/: its page and the script it loads.
    const uiPage = await (await expectStatus('GET /ui/', fetch(`${base}/ui/configs/dry-run`), 200)).text();
    const uiScript = /<script type="module" src="([^"]+)"/.exec(uiPage)?.[1];
    if (uiScript === undefined) throw new Error(`GET /ui/ did not answer the UI's page:\n${uiPage}`);
    await expectStatus(`GET ${uiScript}`, fetch(base + uiScript), 200);
    const cli = spawnSync(process.execPath, ['dist/registry-cli.js', 'export'], { cwd: dir, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (cli.status !== 0 || !cli.stdout.includes('"table":"config","row":{"name":"dry-run"')) {
      throw new Error(`node dist/registry-cli.js export failed (exit ${cli.status}): ${cli.stderr}`);
    }
    step(`runtime on ${kind}: the API and the web UI answer, and node dist/registry-cli.js export works`);

    child.kill('SIGTERM');
    const code = await exited;
    if (code !== 0) throw new Error(`after SIGTERM the service exited with ${code}:\n${output}`);
    step(`runtime on ${kind}: SIGTERM -> exit 0`);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: { full: { type: 'boolean', default: false }, database: { type: 'string', multiple: true } },
  });
  const started = Date.now();
  dryRun({ full: values.full, databases: values.database ?? [], log: (message) => console.log(message) }).then(
    (result) => {
      console.log(`container dry run passed in ${Math.round((Date.now() - started) / 1000)} s; runtime /app: ${Math.round(result.runtimeBytes / 1e6)} MB`);
    },
    (error: unknown) => {
      console.error(`container dry run FAILED: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
}

