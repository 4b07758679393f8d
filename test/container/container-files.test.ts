// There is no Docker engine on our machines, so the container files are held to what can be
// checked without one: the Dockerfile builds and starts the service exactly as CI and the README
// do, copies what exists, runs as a non-root user and checks readiness; the compose file is valid
// and carries no secret. (test/container/dry-run.test.ts runs the Dockerfile's steps.)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  dockerignore,
  execForm,
  parseCopy,
  parseDockerfile,
  parseEnv,
  parseHealthcheck,
  type Stage,
} from '../../scripts/dockerfile.js';
import { ROOT } from '../support/service-process.js';

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const stages = parseDockerfile(read('Dockerfile'));
const build = stages.find((s) => s.name === 'build')!;
const runtime = stages.at(-1)!;
const ciRun = read('.ci/run');
const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
const ignored = dockerignore(read('.dockerignore'));

const runs = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
const last = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword).at(-1)?.args;

describe('Dockerfile', () => {
  it('has a build stage and a runtime stage on the Node version CI runs', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    // npm's scripts (npm test, npm start) run on the "node" dev dependency, whatever is on PATH.
    const pinned = (JSON.parse(read('package.json')) as { devDependencies: Record<string, string> }).devDependencies.node;
    expect(process.versions.node, 'the tests run on the pinned Node').toBe(pinned);
    for (const stage of stages) {
      expect(stage.image, 'the base image must be the Node that CI tests on').toBe(`node:${pinned}-bookworm-slim`);
    }
    expect(new Set(stages.map((s) => s.image)).size).toBe(1);
  });

  it('installs and checks exactly as .ci/run does', () => {
    const ciInstall = /^npm ci\b.*$/m.exec(ciRun)?.[0];
    expect(ciInstall).toBeDefined();
    expect(runs(build)).toContain(ciInstall);
    // The checks .ci/run makes after npm ci, made in the image too.
    const checks = runs(build).find((r) => r.includes('src/generated/sqlite/client.ts'))!;
    const native = /^native_check="([^"]+)"$/m.exec(ciRun)?.[1];
    expect(native).toBeDefined();
    expect(checks).toContain(`node -e "${native}"`);
    const clients = /for client in ([^;]+); do/.exec(ciRun)?.[1]?.trim().split(/\s+/) ?? [];
    expect(clients.length).toBeGreaterThan(0);
    for (const client of clients) expect(checks).toContain(`test -f ${client}`);
    // With the npm CI has: allowScripts (which approves better-sqlite3's build) is npm 11's.
    const npm = /npm install -g npm@(\d+)\./.exec(runs(build).join('\n'))?.[1];
    expect(npm).toBe(execFileSync('npm', ['--version'], { encoding: 'utf8' }).split('.')[0]);
    // The dev dependencies are pruned after the build and before anything is copied out.
    expect(runs(build).at(-1)).toMatch(/^npm prune --omit=dev\b/);
  });

  it('starts the way the README does: package.json "start", with node as PID 1', () => {
    const cmd = execForm(last(runtime, 'CMD')!);
    // `exec`: the shell npm runs the script in becomes node, so the signal npm passes on reaches it.
    expect(`exec ${cmd?.join(' ')}`).toBe(pkg.scripts.start);
    expect(read('README.md')).toContain('npm start');
  });

  it('runs as a non-root user, listens on all interfaces, checks readiness', () => {
    expect(last(runtime, 'USER')).toMatch(/^(?!root$|0$)\S+$/);
    const env = Object.assign({}, ...runtime.instructions.filter((i) => i.keyword === 'ENV').map((i) => parseEnv(i.args))) as Record<string, string>;
    expect(env).toMatchObject({ HOST: '0.0.0.0', NODE_ENV: 'production' });
    expect(last(runtime, 'EXPOSE')).toBe(env.PORT);
    const health = parseHealthcheck(last(runtime, 'HEALTHCHECK')!);
    expect(JSON.stringify(health.command)).toContain('/readyz');
    expect(JSON.stringify(health.command)).toContain('process.env.PORT');
  });

  it('copies into the runtime what the service reads at run time', () => {
    const copied = runtime.instructions
      .filter((i) => i.keyword === 'COPY')
      .map((i) => parseCopy(i.args))
      .map((c) => ({ from: c.from, sources: c.sources }));
    expect(copied.every((c) => c.from === 'build')).toBe(true);
    const sources = copied.flatMap((c) => c.sources);
    // main.ts reads ../package.json; migrate.ts reads ../../prisma/migrations from dist/store.
    expect(sources).toEqual(expect.arrayContaining(['/app/package.json', '/app/node_modules', '/app/dist', '/app/prisma/migrations']));
    expect(read('src/main.ts')).toContain("new URL('../package.json', import.meta.url)");
    expect(read('src/store/migrate.ts')).toContain("new URL('../../prisma/migrations/', import.meta.url)");
  });

  it('copies from the context only files that exist and are not ignored, and every file the build needs', () => {
    const copiedSources = build.instructions.filter((i) => i.keyword === 'COPY').flatMap((i) => parseCopy(i.args).sources);
    for (const source of copiedSources) {
      expect(existsSync(join(ROOT, source)), source).toBe(true);
      expect(ignored(source), `${source} is excluded by .dockerignore`).toBe(false);
    }
    // Every top-level entry of the repository is either copied into the build or known not to be
    // needed by it: a new one (an .npmrc, say) must be decided on here.
    const notForTheBuild = ['.ci', '.dockerignore', '.spectral.yaml', 'BENCHMARKS.md', 'clients', 'docs', '.git', '.gitignore', 'Dockerfile', 'README.md', 'bench', 'deploy', 'docker-compose.yml', 'test', 'vitest.config.ts'];
    const local = ['node_modules', 'dist', 'data', 'coverage', '.tmp'];
    const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((path) => path.split('/')[0]!);
    const onDisk = readdirSync(ROOT).filter((entry) => !local.includes(entry));
    for (const entry of new Set([...tracked, ...onDisk])) {
      if (notForTheBuild.includes(entry)) continue;
      expect(copiedSources, `${entry}: COPY it in the Dockerfile's build stage, or list it in this test`).toContain(entry);
    }
  });

  it('keeps what is generated or local out of the image', () => {
    for (const path of ['node_modules', 'dist', 'src/generated/sqlite/client.ts', 'prisma/postgresql/schema.prisma', 'data/registry.db', 'registry.db', 'registry.ndjson', '.env', '.git']) {
      expect(ignored(path), path).toBe(true);
    }
    for (const path of ['src/main.ts', 'prisma/schema.prisma', 'prisma/migrations/sqlite/migration_lock.toml', 'scripts/prisma-generate.mjs', 'package-lock.json']) {
      expect(ignored(path), path).toBe(false);
    }
  });
});

describe('docker-compose.yml', () => {
  const compose = read('docker-compose.yml');

  it('runs PostgreSQL and at least two replicas of the image behind the load balancer', () => {
    expect(compose).toMatch(/^ {2}postgres:\n {4}image: postgres:15$/m);
    const replicas = [...compose.matchAll(/^ {2}(registry-\d+): \*registry$/gm)].map((m) => m[1]!);
    expect(replicas.length).toBeGreaterThanOrEqual(2);
    const upstreams = [...read('deploy/nginx.conf').matchAll(/^\s*server (registry-\d+):8080\b/gm)].map((m) => m[1]!);
    expect(upstreams).toEqual(replicas);
    // Longer than the service's own shutdown grace period (src/main.ts).
    const grace = Number(/stop_grace_period: (\d+)s/.exec(compose)?.[1]);
    const shutdown = Number(/SHUTDOWN_GRACE_MS = ([\d_]+)/.exec(read('src/main.ts'))?.[1]?.replaceAll('_', ''));
    expect(grace * 1000).toBeGreaterThan(shutdown);
  });

  it('refers only to files that exist', () => {
    for (const [, path] of compose.matchAll(/- \.\/([^:\s]+):/g)) expect(existsSync(join(ROOT, path!)), path).toBe(true);
  });

  it('commits no secret: passwords and tokens come from the environment', () => {
    for (const line of compose.split('\n').filter((l) => /(PASSWORD|TOKEN|postgresql:\/\/)/.test(l) && !l.trimStart().startsWith('#'))) {
      const key = /^\s*([A-Z_]*(?:PASSWORD|TOKEN)):\s*(.*)$/.exec(line);
      if (key !== null) expect(key[2], line).toMatch(/^\$\{[A-Z_]+(:-[^}]*)?\}$/);
      if (line.includes('postgresql://')) expect(line, line).toMatch(/postgresql:\/\/\w+:\$\{POSTGRES_PASSWORD(:-[^}]*)?\}@/);
    }
  });

  const composeTool = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!composeTool)('is valid for docker-compose (`docker-compose config -q`; .ci/run checks it too)', () => {
    const result = spawnSync('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config', '-q'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
