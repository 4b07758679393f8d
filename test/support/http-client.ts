// A tiny JSON client over real sockets (fetch), for tests against a listening server or process.
export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body (undefined when it is empty or not JSON). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read whatever shape they expect
  json: any;
  /** Milliseconds from sending to the end of the body. */
  elapsedMs: number;
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Abort after this long (default 30 s); an aborted call rejects. */
  timeoutMs?: number;
}

export async function call(base: string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const started = performance.now();
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(base + path, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json, elapsedMs: performance.now() - started };
}

/** All pages of a list endpoint. */
export async function listAll<T>(base: string, path: string): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const res = await call(base, 'GET', `${path}${sep}pageSize=1000${token === undefined ? '' : `&pageToken=${encodeURIComponent(token)}`}`);
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text}`);
    items.push(...(res.json.items as T[]));
    token = res.json.nextPageToken;
  } while (token !== undefined);
  return items;
}
