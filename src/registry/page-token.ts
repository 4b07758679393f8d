import { createHmac, timingSafeEqual } from 'node:crypto';
import { BadRequestError } from './errors.js';

/**
 * Opaque, tamper-evident page tokens: base64url(JSON {cursor, query fingerprint}) + HMAC.
 * The key lives in the database (made once by a migration), so every replica accepts the
 * tokens of every other. A token reused with different filters, edited, or truncated is a 400.
 */
export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

export class PageTokens {
  constructor(private readonly key: string) {}

  issue(cursor: string | number, query: string): string {
    const payload = Buffer.from(JSON.stringify({ c: cursor, q: query }), 'utf8').toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  /** The cursor inside `token`, after checking its signature and that it belongs to `query`. */
  read(token: string, query: string): string | number {
    const invalid = () =>
      new BadRequestError('The page token is not valid for this request.', [
        { parameter: 'pageToken', detail: 'is malformed, tampered with, or from a request with other filters' },
      ]);
    const dot = token.indexOf('.');
    if (dot <= 0) throw invalid();
    const payload = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.sign(payload), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      throw invalid();
    }
    if (typeof decoded !== 'object' || decoded === null) throw invalid();
    const { c, q } = decoded as { c?: unknown; q?: unknown };
    if (q !== query || (typeof c !== 'string' && typeof c !== 'number')) throw invalid();
    return c;
  }

  /** The cursor of an optional token (undefined: the first page). */
  cursor(token: string | undefined, query: string): string | number | undefined {
    return token === undefined ? undefined : this.read(token, query);
  }

  /**
   * Cuts `rows` (fetched with one extra row to learn whether more follow) to a page, with a
   * token for the next one when there is one.
   */
  page<T>(rows: T[], pageSize: number, query: string, cursorOf: (last: T) => string | number): Page<T> {
    if (rows.length <= pageSize) return { items: rows };
    const items = rows.slice(0, pageSize);
    return { items, nextPageToken: this.issue(cursorOf(items[items.length - 1]!), query) };
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}
