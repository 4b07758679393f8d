import { z } from 'zod';
import type { AliasMove, AliasRecord } from '../registry/store.js';
import { ConfigName, PageSize, PageToken, VersionNumber } from './schemas.js';

/** API.md, "Aliases": `production`, `staging`, `candidate`; `latest` is reserved. */
export const ALIAS_PATTERN = '^[a-z][a-z0-9_-]{0,62}$';

export const AliasName = z
  .string()
  .regex(new RegExp(ALIAS_PATTERN), 'must be 1-63 lowercase letters, digits, `_` or `-`, starting with a letter')
  .describe('Alias name, e.g. `production`. `latest` is reserved: it always means the newest version.');

const Timestamp = z.string().meta({ format: 'date-time', description: 'RFC 3339 UTC time stamp.' });
const Version = z.number().int().min(1).max(999_999_999);

const EXAMPLE_ALIAS = {
  name: 'resnet50-int8',
  alias: 'production',
  version: 3,
  protected: true,
  moves: 2,
  updatedAt: '2026-01-03T00:00:00.000Z',
  updatedBy: 'reviewer',
};

export const AliasSchema = z
  .object({
    name: ConfigName,
    alias: AliasName,
    version: Version.describe('The version the alias names.'),
    protected: z.boolean().describe('Only admins may set, move or delete it, or change this.'),
    moves: z
      .number()
      .int()
      .min(1)
      .describe('How many times it was set (counting on across a deletion); also its strong ETag.'),
    updatedAt: Timestamp,
    updatedBy: z.string().describe('Who set it last: the token name, or `anonymous`.'),
  })
  .meta({ id: 'Alias', description: 'A named pointer to one version of a config.', examples: [EXAMPLE_ALIAS] });

export const AliasListSchema = z
  .object({ items: z.array(AliasSchema).describe('Every alias of the config (at most 32), by alias ascending.') })
  .meta({ id: 'AliasList', description: 'The aliases of a config.', examples: [{ items: [EXAMPLE_ALIAS] }] });

const EXAMPLE_MOVE = {
  version: 3,
  previousVersion: 2,
  protected: true,
  moves: 2,
  movedAt: '2026-01-03T00:00:00.000Z',
  movedBy: 'reviewer',
};

export const AliasMoveSchema = z
  .object({
    version: Version.nullable().describe('The version it was set to; null: the alias was deleted.'),
    previousVersion: Version.nullable().describe('The version it named before; null: it was created.'),
    protected: z.boolean(),
    moves: z.number().int().min(1).describe("The alias's moves (ETag) after this entry."),
    movedAt: Timestamp,
    movedBy: z.string(),
  })
  .meta({ id: 'AliasMove', description: 'One set, move or deletion of an alias.', examples: [EXAMPLE_MOVE] });

export const AliasHistoryPage = z
  .object({
    items: z.array(AliasMoveSchema),
    nextPageToken: z.string().optional().describe('Absent on the last page.'),
  })
  .meta({
    id: 'AliasHistoryPage',
    description: 'Moves of an alias, newest first; pass nextPageToken back as pageToken for the next page.',
    examples: [{ items: [EXAMPLE_MOVE, { ...EXAMPLE_MOVE, version: 2, previousVersion: null, moves: 1 }] }],
  });

/** Plain (no defaults, no transforms), as every request body: see schemas.ts. */
export const SetAliasBody = z
  .strictObject({
    version: Version.describe('The version to point at (it must exist).'),
    protected: z.boolean().optional().describe('Left out: unchanged (false for a new alias). Changing it needs admin.'),
  })
  .meta({ id: 'SetAlias', description: 'Where the alias should point.', examples: [{ version: 3 }, { version: 3, protected: true }] });

export const AliasParams = z.strictObject({ name: ConfigName, alias: AliasName });

export const AliasHistoryQuery = z.strictObject({ pageSize: PageSize, pageToken: PageToken });

const ByAlias = AliasName.optional().describe('Read the version this alias names (`latest`: the newest); not with `version`.');

/** getConfig's query: which version to answer, by alias. */
export const ConfigReadQuery = z.strictObject({ alias: ByAlias });

/** The exports' query: a version by number or by alias, not both (a 422 naming `alias`). */
export const ExportQuery = z
  .strictObject({
    version: VersionNumber.optional().describe('A version number; the latest when absent.'),
    alias: ByAlias,
  })
  .superRefine((query, ctx) => {
    if (query.version !== undefined && query.alias !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['alias'], message: 'cannot be combined with version: ask for one or the other' });
    }
  });

export function aliasView(record: AliasRecord): z.output<typeof AliasSchema> {
  return {
    name: record.name,
    alias: record.alias,
    version: record.version,
    protected: record.protected,
    moves: record.moves,
    updatedAt: record.updatedAt.toISOString(),
    updatedBy: record.updatedBy,
  };
}

export function aliasMoveView(move: AliasMove): z.output<typeof AliasMoveSchema> {
  return {
    version: move.version,
    previousVersion: move.previousVersion,
    protected: move.protected,
    moves: move.moves,
    movedAt: move.movedAt.toISOString(),
    movedBy: move.movedBy,
  };
}
