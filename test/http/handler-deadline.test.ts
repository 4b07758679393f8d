import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { registerHandlerDeadline } from '../../src/http/handler-deadline.js';
import { registerProblemHandlers } from '../../src/http/problem.js';

describe('the handler deadline', () => {
  let app: FastifyInstance;
  afterEach(async () => {
    await app?.close();
  });

  async function appWith(ms: number): Promise<FastifyInstance> {
    app = Fastify();
    registerProblemHandlers(app);
    registerHandlerDeadline(app, ms);
    app.get('/hangs', () => new Promise(() => {}));
    app.get('/slow', async () => {
      await new Promise((resolve) => setTimeout(resolve, ms / 2));
      return { ok: true };
    });
    // A streamed body that sends its first chunk and then never ends.
    app.get('/stalls', (_request, reply) => {
      const body = new Readable({ read() {} });
      body.push('partial');
      return reply.type('text/plain').send(body);
    });
    await app.ready();
    return app;
  }

  it('answers a request stuck past the deadline with a 503 problem, soon after the deadline', async () => {
    await appWith(200);
    const started = performance.now();
    const res = await app.inject({ method: 'GET', url: '/hangs' });
    const took = performance.now() - started;
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 503, detail: 'The request took too long to handle; retry shortly.' });
    expect(took).toBeGreaterThanOrEqual(195);
    expect(took).toBeLessThan(1000);
  });

  it('leaves requests answered in time alone, many at once', async () => {
    await appWith(200);
    const answers = await Promise.all(Array.from({ length: 20 }, () => app.inject({ method: 'GET', url: '/slow' })));
    expect(answers.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    // Nothing is sent later for them either.
    await new Promise((resolve) => setTimeout(resolve, 300));
  });

  it('times out only the stuck ones among requests that arrive together and finish in any order', async () => {
    await appWith(200);
    const urls = Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? '/hangs' : '/slow'));
    const answers = await Promise.all(urls.map((url) => app.inject({ method: 'GET', url })));
    expect(answers.map((r) => r.statusCode)).toEqual(urls.map((url) => (url === '/hangs' ? 503 : 200)));
  });

  it('ends a reply that began and stalled, since it can no longer become a problem', async () => {
    await appWith(200);
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const outcome = await fetch(`${address}/stalls`).then(
      (res) => res.text().then(() => 'ended normally', () => 'cut off'),
      () => 'cut off',
    );
    expect(outcome).toBe('cut off');
  });

  it('is off at 0', async () => {
    await appWith(0);
    const res = await Promise.race([
      app.inject({ method: 'GET', url: '/hangs' }).then(() => 'answered'),
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), 400)),
    ]);
    expect(res).toBe('still waiting');
  });
});
