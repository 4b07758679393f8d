// Node 22 (maintenance LTS) keeps working: the built service, the same node_modules (better-sqlite3's
// Node-API binary loads on any Node from 22.14), on both databases. The suite itself runs on Node
// 24, the pinned "node" dev dependency; .ci/run installs a Node 22 beside it and names it in
// NODE22_BINARY (REQUIRE_NODE22=1 there turns a missing one into a failure, not a skip).
import { execFileSync, spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BACKENDS, createTestDatabase } from '../support/databases.js';
import { ROOT } from '../support/service-process.js';

const node22 = process.env.NODE22_BINARY;
if (node22 === undefined && process.env.REQUIRE_NODE22 === '1') {
  throw new Error('REQUIRE_NODE22=1 but NODE22_BINARY is not set (.ci/run installs node@22 and sets it)');
}

describe.skipIf(node22 === undefined).each(BACKENDS)('the built service on Node 22, %s', (kind) => {
  it('starts, migrates, stores and serves a config, and stops cleanly on SIGTERM', async () => {
    expect(execFileSync(node22!, ['--version'], { encoding: 'utf8' })).toMatch(/^v22\./);
    const db = await createTestDatabase(kind);
    const child = spawn(node22!, ['dist/main.js'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', DATABASE_URL: db.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      let base: string | undefined;
      for (let i = 0; i < 300 && base === undefined; i++) {
        base = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
        if (base === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(base, out).toBeDefined();
      const put = await fetch(`${base}/v1/configs/on-node-22`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ config: { preserved_attributes: ['attr1'] } }),
      });
      expect(put.status).toBe(201);
      const got = await fetch(`${base}/v1/configs/on-node-22/dict`);
      expect(await got.json()).toEqual({ preserved_attributes: ['attr1'] });
      child.kill('SIGTERM');
      expect(await exited, out).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await db.drop();
    }
  });
});
