import { z } from 'zod';
import { DEFAULT_WATCH_LIMITS } from './registry/watch-hub.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A whole number from the environment, with one message for every way it can be wrong. */
function wholeNumber(min: number, max: number) {
  const error = `must be a whole number from ${min} to ${max}`;
  return z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/**
 * A DATABASE_URL the store can open: `file:<path>` (SQLite) or a parseable
 * `postgres(ql)://` URL. Checked here so that a typo stops start-up with a line naming the
 * setting, not with a driver error from deep inside the first connection attempt.
 */
function isDatabaseUrl(url: string): boolean {
  if (/^file:./i.test(url)) return true;
  if (!/^postgres(ql)?:\/\//i.test(url)) return false;
  try {
    return new URL(url).hostname !== '' || /[?&]host=/.test(url);
  } catch {
    return false;
  }
}

const Flag = z.enum(['true', 'false']).transform((v) => v === 'true');
const Milliseconds = wholeNumber(0, 3_600_000);

/** `https://ml.example.com` (scheme and host, optional port, nothing after) or `*`. */
const ORIGIN = /^(\*|https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?)$/;

/** Environment -> typed settings. An invalid setting stops start-up with one line naming it. */
const SettingsSchema = z.object({
  PORT: wholeNumber(0, 65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .default('file:./data/registry.db')
    .refine(isDatabaseUrl, 'must be file:<path> (SQLite) or postgresql://user:password@host:5432/db (PostgreSQL)'),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  DATABASE_POOL_SIZE: wholeNumber(1, 200).default(10),

  // Authentication (README "Authentication").
  REGISTRY_ADMIN_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters (e.g. the output of `openssl rand -hex 32`)')
    .max(512, 'must be at most 512 characters')
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces (it travels in an Authorization header)')
    .optional(),
  REGISTRY_ANONYMOUS_READ: Flag.default(false),

  // Limits and headers.
  RATE_LIMIT_MAX: wholeNumber(0, 1_000_000).default(600),
  CORS_ORIGINS: z
    .string()
    .transform((list) => list.split(',').map((origin) => origin.trim()).filter((origin) => origin !== ''))
    .refine((origins) => origins.every((origin) => ORIGIN.test(origin)), 'must be a comma-separated list of origins like https://ml.example.com, or *')
    .default([]),
  TRUST_PROXY: z
    .string()
    .transform((value): boolean | string => (value === 'true' ? true : value === 'false' ? false : value))
    .refine(
      (value) => typeof value === 'boolean' || value.split(',').every((part) => /^[0-9A-Fa-f:.]+(\/\d{1,3})?$/.test(part.trim())),
      'must be true, false, or a comma-separated list of proxy addresses or CIDR ranges',
    )
    .default(false),
  REQUEST_TIMEOUT_MS: Milliseconds.default(30_000),
  HANDLER_TIMEOUT_MS: Milliseconds.default(30_000),
  CONNECTION_TIMEOUT_MS: Milliseconds.default(0),
  KEEP_ALIVE_TIMEOUT_MS: Milliseconds.default(72_000),

  // Watching (README "Watching"): what one replica holds at once; beyond it, 503 with Retry-After.
  WATCH_MAX_WAITERS: wholeNumber(0, 1_000_000).default(DEFAULT_WATCH_LIMITS.maxWaiters),
  WATCH_MAX_STREAMS: wholeNumber(0, 1_000_000).default(DEFAULT_WATCH_LIMITS.maxStreams),
});

export type Settings = z.infer<typeof SettingsSchema>;

/** Only what the registry CLI needs, so that a server-only setting (PORT, ...) cannot stop it. */
const CliSettingsSchema = SettingsSchema.pick({ DATABASE_URL: true });

export type CliSettings = z.infer<typeof CliSettingsSchema>;

export class SettingsError extends Error {}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  return parse(SettingsSchema, env);
}

export function loadCliSettings(env: NodeJS.ProcessEnv = process.env): CliSettings {
  return parse(CliSettingsSchema, env);
}

function parse<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv): z.infer<T> {
  // Empty variables count as unset, as in most twelve-factor services.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (parsed.success) return parsed.data;
  // One line however many settings are wrong, each named with what it must be. Never the value:
  // DATABASE_URL may carry a password, REGISTRY_ADMIN_TOKEN is a secret.
  const problems = new Map<string, string>();
  for (const issue of parsed.error.issues) {
    const name = String(issue.path[0] ?? 'settings');
    if (!problems.has(name)) problems.set(name, issue.message);
  }
  const text = [...problems].map(([name, message]) => `${name}: ${message}`).join('; ');
  throw new SettingsError(`Invalid setting${problems.size > 1 ? 's' : ''} ${text}`);
}
