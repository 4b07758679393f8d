import { z } from 'zod';
import { CONFIG_NAME_PATTERN } from '../domain/identifiers.js';
import { EVENT_TYPES, type RegistryEvent } from '../registry/store.js';
import { MAX_WAIT_SECONDS } from './prefer-wait.js';
import { ConfigName, ModuleClassId } from './schemas.js';
import { oneOrMany } from './validation.js';

/** The largest revision a query may name (revisions are 32-bit integers in both databases). */
export const MAX_REVISION = 2_147_483_647;

const Revision = z.number().int().min(1).max(MAX_REVISION);

export const EventTypeSchema = z.enum(EVENT_TYPES as [RegistryEvent['type'], ...RegistryEvent['type'][]]).meta({
  id: 'EventType',
  description: 'What changed. Tokens never appear in the feed.',
});

export const EventSchema = z
  .object({
    revision: Revision.describe('Registry-wide: 1, 2, 3, ... without gaps, in commit order on every replica.'),
    type: EventTypeSchema,
    at: z.string().meta({ format: 'date-time', description: 'When the change was made (RFC 3339 UTC).' }),
    by: z.string().describe('Who made it: the token name, or `anonymous`.'),
    name: ConfigName.optional().describe('The config (config.* and alias.* events).'),
    version: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('The version created; the latest for delete, undelete and purge; the one an alias now names.'),
    alias: z.string().optional().describe('The alias (alias.* events).'),
    classId: ModuleClassId.optional().describe('The module class (module_class.* events).'),
  })
  .meta({
    id: 'Event',
    description: 'One change to the registry. Events carry no config content: read it by name and version.',
    examples: [
      { revision: 42, type: 'config.version_created', at: '2026-01-03T00:00:00.000Z', by: 'ci-vision', name: 'resnet50-int8', version: 3 },
    ],
  });

export const EventsPageSchema = z
  .object({
    items: z.array(EventSchema),
    lastRevision: z
      .number()
      .int()
      .min(0)
      .describe('The newest revision this answer accounts for: pass it as `after` next time, even when nothing matched.'),
  })
  .meta({
    id: 'EventPage',
    description: 'Events after `after`, ascending.',
    examples: [
      {
        items: [
          { revision: 42, type: 'config.version_created', at: '2026-01-03T00:00:00.000Z', by: 'ci-vision', name: 'resnet50-int8', version: 3 },
          { revision: 43, type: 'alias.set', at: '2026-01-03T00:01:00.000Z', by: 'reviewer', name: 'resnet50-int8', alias: 'production', version: 3 },
        ],
        lastRevision: 43,
      },
    ],
  });

/** A revision in a query: a plain non-negative integer (no `1e3`, ` 1`, `0x1`). */
export const AfterRevision = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,9})$/, 'must be a revision number (0 or more)')
  .transform(Number)
  .refine((n) => n <= MAX_REVISION, `must be at most ${MAX_REVISION}`)
  .meta({ type: 'integer', minimum: 0, maximum: MAX_REVISION, pattern: undefined });

/** Filters a reader may repeat (ORed); more than this many would only be a slow query. */
const MAX_FILTERS = 100;

function repeatable<T extends z.ZodType>(item: T, items: Record<string, unknown>, description: string) {
  return oneOrMany(item)
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]) as z.output<T>[])
    .refine((v) => v.length <= MAX_FILTERS, `at most ${MAX_FILTERS} are allowed`)
    .meta({ description, type: 'array', items, maxItems: MAX_FILTERS, anyOf: undefined });
}

export const ListEventsQuery = z.strictObject({
  after: AfterRevision.optional().describe('Only events with a greater revision (default 0: from the start).'),
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('At most this many events, 1..1000.'),
  name: repeatable(ConfigName, { type: 'string', pattern: CONFIG_NAME_PATTERN, maxLength: 128 }, 'Only events of this config; repeat to OR several.'),
  type: repeatable(EventTypeSchema, { type: 'string', enum: [...EVENT_TYPES] }, 'Only events of this type; repeat to OR several.'),
  wait: z
    .string()
    .regex(/^(0|[1-9][0-9]?)$/, `must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}`)
    .transform(Number)
    .refine((n) => n <= MAX_WAIT_SECONDS, `must be at most ${MAX_WAIT_SECONDS} seconds`)
    .optional()
    .meta({ type: 'integer', minimum: 0, maximum: MAX_WAIT_SECONDS, pattern: undefined })
    .describe(
      'Seconds to hold the reply when nothing matches yet (0..60, default 0): it is answered as soon as a matching ' +
        'change is committed by any replica, or with no items when the time is up.',
    ),
});

/** The stream takes the feed's filters; it has no page size and never ends by itself. */
export const StreamEventsQuery = ListEventsQuery.pick({ after: true, name: true, type: true });

/** An event as JSON. */
export function eventView(event: RegistryEvent): z.output<typeof EventSchema> {
  return {
    revision: event.revision,
    type: event.type,
    at: event.at.toISOString(),
    by: event.by,
    ...(event.name === undefined ? {} : { name: event.name }),
    ...(event.version === undefined ? {} : { version: event.version }),
    ...(event.alias === undefined ? {} : { alias: event.alias }),
    ...(event.classId === undefined ? {} : { classId: event.classId }),
  };
}
