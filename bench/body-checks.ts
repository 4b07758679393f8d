// The request-body checks a PUT goes through before any SQL, timed in process: zod's validation of
// the config document and the strict JSON scan (member names twice, nesting), over the bench's 100
// template bodies. Pass the root of a checkout to time another build beside this one:
//   node --import tsx bench/body-checks.ts [root]      (e.g. a `git worktree` of an older commit)
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(process.argv[2] ?? fileURLToPath(new URL('..', import.meta.url)));
const { ConfigContentSchema } = (await import(`${root}/src/http/schemas.ts`)) as typeof import('../src/http/schemas.js');
const { structuralProblem } = (await import(`${root}/src/http/json-body.ts`)) as typeof import('../src/http/json-body.js');
const { templateBody, TEMPLATE_COUNT } = (await import(`${root}/bench/fixture.ts`)) as typeof import('./fixture.js');

const bodies = Array.from({ length: TEMPLATE_COUNT }, (_, k) => templateBody(k));
const texts = bodies.map((b) => JSON.stringify(b));
const N = 40_000;

function perCall(run: (i: number) => void): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) run(i % TEMPLATE_COUNT);
  return Number(process.hrtime.bigint() - start) / N / 1000;
}

// The first pass warms the JIT up; the second is reported.
for (const pass of [1, 2]) {
  const validate = perCall((i) => {
    if (!ConfigContentSchema.safeParse(bodies[i]).success) throw new Error(`template ${i} does not validate`);
  });
  const scan = perCall((i) => {
    if (structuralProblem(texts[i]!) !== undefined) throw new Error(`template ${i} fails the scan`);
  });
  if (pass === 2) {
    console.log(`${root}: validation ${validate.toFixed(2)} µs, JSON scan ${scan.toFixed(2)} µs per PUT body (${texts[0]!.length} bytes)`);
  }
}
