// The registry's /v1 API as the UI calls it: the same endpoints a script uses, with the bearer
// token from the session, and RFC 9457 problems turned into ApiError (status, detail, pointers).
import { session } from './session.js';

export interface ProblemItem {
  pointer?: string;
  parameter?: string;
  detail: string;
}

export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail: string;
  errors?: ProblemItem[];
  configs?: string[];
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail || problem.title);
  }
  get status(): number {
    return this.problem.status;
  }
}

export interface Answer<T> {
  data: T;
  status: number;
  /** The strong ETag as sent (`"3"`), for If-Match on the next write. */
  etag: string | null;
  headers: Headers;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  /** If-Match: the ETag the page was showing; the write is refused (412) if it moved. */
  ifMatch?: string | null;
  ifNoneMatch?: string;
  /** Read the body as text (the Python snippet) instead of JSON. */
  text?: boolean;
  signal?: AbortSignal;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<Answer<T>> {
  const headers: Record<string, string> = { accept: options.text ? 'text/x-python, application/problem+json' : 'application/json' };
  const token = session.token();
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.ifMatch) headers['if-match'] = options.ifMatch;
  if (options.ifNoneMatch) headers['if-none-match'] = options.ifNoneMatch;
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      // The token is a header, never a cookie: nothing ambient to send.
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError({ title: 'No answer', status: 0, detail: 'The registry did not answer. Is it running, and is the network up?' });
  }
  if (!response.ok) throw new ApiError(await problemOf(response));
  const data = (response.status === 204 ? undefined : options.text ? await response.text() : await response.json()) as T;
  return { data, status: response.status, etag: response.headers.get('etag'), headers: response.headers };
}

async function problemOf(response: Response): Promise<Problem> {
  const fallback: Problem = { title: response.statusText || 'Error', status: response.status, detail: `The registry answered ${response.status}.` };
  try {
    const body = (await response.json()) as Partial<Problem>;
    if (response.status === 401) session.tokenRefused(body.detail ?? '');
    return { ...fallback, ...body, status: response.status };
  } catch {
    return fallback;
  }
}

/** A path segment as the API wants it (names and class ids are plain, but say so once). */
export const seg = encodeURIComponent;

/** Every item of a paged list (the lists the UI shows whole are small: versions, references, aliases). */
export async function listAll<T>(path: string, limit = 5000): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api<{ items: T[]; nextPageToken?: string }>(
      `${path}${sep}pageSize=1000${token === undefined ? '' : `&pageToken=${encodeURIComponent(token)}`}`,
    );
    items.push(...page.data.items);
    token = page.data.nextPageToken;
  } while (token !== undefined && items.length < limit);
  return items;
}
