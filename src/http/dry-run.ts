import type { onRequestHookHandler } from 'fastify';
import { z } from 'zod';
import type { DocumentedResponse, HeaderDoc } from './routes/responses.js';
import { BooleanFlag } from './schemas.js';

/**
 * `?dryRun=true` on the config and alias writes (API.md, "Dry run and validation"): the write runs
 * every check and answers exactly what it would (status, ETag, body with the version it would
 * make, warnings, every 4xx), and the registry's use case stops before the store's append, so
 * nothing is stored, no revision is used, and no lock is taken.
 */
export const DryRunQuery = z.strictObject({
  dryRun: BooleanFlag.describe('Validate and answer what the write would, storing nothing (X-Dry-Run: true).'),
});

export const DRY_RUN: HeaderDoc = {
  type: 'string',
  description: '`true` on every reply to a dry run (`?dryRun=true`): nothing was stored.',
};

/**
 * Marks every reply to a dry run, the refusals included (401, 403, 422 of the query itself), so a
 * client can never mistake one for a write. onRequest runs before validation, so it reads the raw
 * query.
 */
export const markDryRun: onRequestHookHandler = function markDryRun(request, reply, done) {
  if ((request.query as Record<string, unknown> | undefined)?.dryRun === 'true') reply.header('x-dry-run', 'true');
  done();
};

/** The responses of a write that takes dryRun, each documenting X-Dry-Run. */
export function withDryRun(responses: Record<string, DocumentedResponse>): Record<string, DocumentedResponse> {
  return Object.fromEntries(
    Object.entries(responses).map(([status, response]) => [
      status,
      { ...response, headers: { ...response.headers, 'X-Dry-Run': DRY_RUN } },
    ]),
  );
}
