// Real HTTP clients uploading a large body, each in a process of its own as a user's would be:
// Node's fetch (undici), Python's urllib (standard library) and curl. Each sends
// `{"config":{},"description":"xxx…"}` (the description `size` bytes long), with a Content-Length
// or chunked, and reports what it got back, or the error it saw instead of an answer.
import { execFile } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PYTHON } from './python.js';

const run = promisify(execFile);

export interface Upload {
  url: string;
  /** Length of the description, in bytes (the body is 32 bytes more). */
  size: number;
  /** Transfer-Encoding: chunked instead of a Content-Length. */
  chunked: boolean;
  headers: Record<string, string>;
}

export interface UploadResult {
  /** The status, or undefined when the client saw an error instead of an answer. */
  status?: number;
  connection?: string;
  contentType?: string;
  body?: string;
  /** What the client reported instead (EPIPE, ECONNRESET, ...). */
  error?: string;
}

export type UploadClient = (upload: Upload, scratch: string) => Promise<UploadResult>;

const PREFIX = '{"config":{},"description":"';
const SUFFIX = '"}';

// The body is built in the client's process (only curl reads it from a file).
const NODE_FETCH = `
const [url, size, chunked, headers] = [process.argv[1], Number(process.argv[2]), process.argv[3] === 'true', JSON.parse(process.argv[4])];
const body = Buffer.concat([Buffer.from(${JSON.stringify(PREFIX)}), Buffer.alloc(size, 'x'), Buffer.from(${JSON.stringify(SUFFIX)})]);
const stream = () => new ReadableStream({
  start(controller) {
    for (let at = 0; at < body.length; at += 65536) controller.enqueue(body.subarray(at, at + 65536));
    controller.close();
  },
});
try {
  const res = await fetch(url, { method: 'PUT', headers, body: chunked ? stream() : body, duplex: 'half' });
  const text = await res.text();
  console.log(JSON.stringify({ status: res.status, connection: res.headers.get('connection') ?? undefined,
    contentType: res.headers.get('content-type') ?? undefined, body: text }));
} catch (error) {
  console.log(JSON.stringify({ error: String(error.cause?.code ?? error.cause?.message ?? error.message) }));
}
`;

export const nodeFetch: UploadClient = async (upload) =>
  parse(await run(process.execPath, ['--input-type=module', '-e', NODE_FETCH, upload.url, String(upload.size), String(upload.chunked), JSON.stringify(upload.headers)], { maxBuffer: 1 << 20 }));

const PYTHON_URLLIB = `
import json, sys, urllib.error, urllib.request
url, size, chunked, headers = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "true", json.loads(sys.argv[4])
body = ${JSON.stringify(PREFIX)}.encode() + b"x" * size + ${JSON.stringify(SUFFIX)}.encode()
def pieces():
    for at in range(0, len(body), 65536):
        yield body[at:at + 65536]
# An iterable without a Content-Length is sent chunked.
request = urllib.request.Request(url, data=pieces() if chunked else body, method="PUT", headers=headers)
def report(status, h, text):
    print(json.dumps({"status": status, "connection": h.get("connection"), "contentType": h.get("content-type"), "body": text}))
try:
    with urllib.request.urlopen(request, timeout=60) as res:
        report(res.status, res.headers, res.read().decode())
except urllib.error.HTTPError as e:
    report(e.code, e.headers, e.read().decode())
except Exception as e:
    reason = getattr(e, "reason", e)
    print(json.dumps({"error": type(reason).__name__ + ": " + str(reason)}))
`;

export const pythonUrllib: UploadClient = async (upload) =>
  parse(await run(PYTHON, ['-c', PYTHON_URLLIB, upload.url, String(upload.size), String(upload.chunked), JSON.stringify(upload.headers)], { maxBuffer: 1 << 20 }));

/** curl as a user runs it: `--data-binary @file` (with its own Expect: 100-continue for large bodies). */
export const curl: UploadClient = async (upload, scratch) => {
  const file = await bodyFile(scratch, upload.size);
  const out = join(scratch, `curl-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const headerArgs = Object.entries({ ...upload.headers, ...(upload.chunked ? { 'transfer-encoding': 'chunked' } : {}) }).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  try {
    const { stdout } = await run('curl', ['-sS', '-X', 'PUT', ...headerArgs, '--data-binary', `@${file}`, '-o', out, '-w', '%{http_code}\\n%header{connection}\\n%header{content-type}', upload.url]);
    const [code, connection, contentType] = stdout.split('\n');
    return { status: Number(code), connection: connection || undefined, contentType: contentType || undefined, body: await readFile(out, 'utf8') };
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    return { error: (e.stderr ?? e.message).trim() };
  }
};

export const UPLOAD_CLIENTS: Record<string, UploadClient> = { 'Node fetch': nodeFetch, 'Python urllib': pythonUrllib, curl };

/** The body as a file for curl, written once per size. */
const files = new Map<string, Promise<string>>();
function bodyFile(scratch: string, size: number): Promise<string> {
  const path = join(scratch, `body-${size}.json`);
  if (!files.has(path)) {
    files.set(
      path,
      (async () => {
        const handle = await open(path, 'w');
        await handle.write(PREFIX);
        const block = Buffer.alloc(1 << 20, 'x');
        for (let left = size; left > 0; left -= block.length) await handle.write(block, 0, Math.min(left, block.length));
        await handle.write(SUFFIX);
        await handle.close();
        return path;
      })(),
    );
  }
  return files.get(path)!;
}

function parse({ stdout }: { stdout: string }): UploadResult {
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as UploadResult;
}
