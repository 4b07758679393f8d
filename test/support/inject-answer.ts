// app.inject for any operation, event streams included: a stream does not end, so its answer is
// its status, headers and first chunk, after which the client leaves (which frees the stream on
// the server, as a real disconnect does).
import type { FastifyInstance, InjectOptions } from 'fastify';

export interface InjectedAnswer {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
  json<T = unknown>(): T;
}

export async function injectAnswer(app: FastifyInstance, options: InjectOptions): Promise<InjectedAnswer> {
  const res = await app.inject({ ...options, payloadAsStream: true });
  const stream = res.stream();
  const chunks: Buffer[] = [];
  if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream') && options.method !== 'HEAD') {
    chunks.push(await new Promise<Buffer>((resolve) => stream.once('data', resolve)));
    stream.destroy();
    (res.raw.res as unknown as { destroy(): void }).destroy();
  } else {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
  }
  const body = Buffer.concat(chunks).toString('utf8');
  return { statusCode: res.statusCode, headers: res.headers, body, json: <T>() => JSON.parse(body) as T };
}
