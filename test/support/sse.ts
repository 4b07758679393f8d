// A Server-Sent Events client for tests, over real HTTP (fetch), parsing the stream as the WHATWG
// spec says an EventSource does: fields per line, an event per blank line, comments apart.

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

export interface SseClient {
  readonly status: number;
  readonly headers: Headers;
  /** Every event received so far, in order. */
  readonly events: SseEvent[];
  /** Every comment line received so far (without the leading colon). */
  readonly comments: string[];
  /** The body when the answer is not a stream (a problem). */
  readonly text: string | undefined;
  /** Resolves once `count` events in all have arrived (rejects after `limitMs`, a guard against hanging). */
  until(count: number, limitMs?: number): Promise<SseEvent[]>;
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  /** The id of the last event, as an EventSource would send it back in Last-Event-ID. */
  lastEventId(): string | undefined;
  /** Disconnects, as a client that goes away. */
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  let lastId: string | undefined;
  const notify = () => {
    for (const waiter of [...waiters]) {
      if (events.length >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      events,
      comments,
      text,
      until: () => Promise.reject(new Error(`not a stream: ${response.status} ${text}`)),
      ended: Promise.resolve(),
      lastEventId: () => undefined,
      close: () => {},
    };
  }
  const ended = (async () => {
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value.replace(/\r\n?/g, '\n');
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event: SseEvent = { data: '' };
          let hasData = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) {
              comments.push(line.slice(1).trim());
              continue;
            }
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') event.id = lastId = value;
            else if (field === 'event') event.event = value;
            else if (field === 'data') {
              event.data = hasData ? `${event.data}\n${value}` : value;
              hasData = true;
            }
          }
          if (hasData) {
            events.push(event);
            notify();
          }
        }
      }
    } catch {
      // Aborted by close(), or the connection was cut.
    }
  })();
  return {
    status: response.status,
    headers: response.headers,
    events,
    comments,
    text: undefined,
    until(count, limitMs = 20_000) {
      if (events.length >= count) return Promise.resolve(events.slice(0, count));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${events.length} of ${count} events within ${limitMs} ms`)), limitMs);
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(events.slice(0, count));
          },
        });
        void ended.then(() => {
          if (events.length < count) {
            clearTimeout(timer);
            reject(new Error(`the stream ended after ${events.length} of ${count} events`));
          }
        });
      });
    },
    ended,
    lastEventId: () => lastId,
    close: () => abort.abort(),
  };
}
