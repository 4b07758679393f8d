// etcd, the store a team would otherwise keep shared configuration in, measured beside the
// registry in the same run: a single member on loopback with its defaults (its own temporary data
// directory, free ports; a fresh member per backend's run), driven through its v3 JSON gateway
// (`POST /v3/kv/range`, `POST /v3/kv/put`; keys and values base64) by the same load generator.
// Ranges are etcd's default, linearizable reads (a ReadIndex round through raft, as a read of ours
// is never stale either), and every put is fsynced to its WAL before it is acknowledged, as ours
// are. Values are the same config documents the registry serves and takes.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collect, freePort, waitUntil, wrap, type Server } from './processes.js';

/** Whether an `etcd` binary is on the PATH (Debian: `apt-get install etcd-server`). */
export function etcdInstalled(): boolean {
  try {
    execFileSync('etcd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** etcd's version line, for the results (`3.4.23`). */
export function etcdVersion(): string {
  const out = execFileSync('etcd', ['--version'], { encoding: 'utf8' });
  return /etcd Version: (\S+)/.exec(out)?.[1] ?? 'unknown';
}

export async function startEtcd(): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'registry-bench-etcd-'));
  const [client, peer] = [await freePort(), await freePort()];
  const clientUrl = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  // Everything else is etcd's default (member name "default", snapshot count, no compaction).
  const child = spawn(
    'etcd',
    [
      '--data-dir', join(dir, 'data'),
      '--listen-client-urls', clientUrl,
      '--advertise-client-urls', clientUrl,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `default=${peerUrl}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = collect(child);
  try {
    await waitUntil(`${clientUrl}/health`, child, output, 'etcd');
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const server = wrap('etcd', clientUrl, child, output);
  return {
    ...server,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** The key of a config in etcd: what a team would use, one key per config. */
export function etcdKey(name: string): string {
  return `/configs/${name}`;
}

export function rangeBody(key: string): string {
  return JSON.stringify({ key: b64(key) });
}

export function putBody(key: string, value: string): string {
  return JSON.stringify({ key: b64(key), value: b64(value) });
}

/** Puts every entry (one request each, as a client would), checking each answer. */
export async function putAll(etcd: Server, entries: Array<{ key: string; value: string }>): Promise<void> {
  for (const { key, value } of entries) {
    const res = await fetch(`${etcd.url}/v3/kv/put`, { method: 'POST', body: putBody(key, value) });
    if (!res.ok) throw new Error(`etcd put ${key}: ${res.status} ${await res.text()}`);
  }
  // One read back through the same path the load uses.
  const last = entries.at(-1);
  if (last === undefined) return;
  const res = await fetch(`${etcd.url}/v3/kv/range`, { method: 'POST', body: rangeBody(last.key) });
  const body = (await res.json()) as { kvs?: Array<{ value: string }> };
  if (Buffer.from(body.kvs?.[0]?.value ?? '', 'base64').toString('utf8') !== last.value) {
    throw new Error(`etcd range ${last.key} did not return what was put`);
  }
}
