import { z } from 'zod';

const Flag = z.enum(['true', 'false']).transform((v) => v === 'true');
const Milliseconds = z.coerce.number().int().min(0).max(3_600_000);

/** `https://ml.example.com` (scheme and host, optional port, nothing after) or `*`. */
const ORIGIN = /^(\*|https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?)$/;

/** Environment -> typed settings. An invalid setting stops start-up with one line naming it. */
const SettingsSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .default('file:./data/registry.db')
    .refine((url) => /^(file:|postgres(ql)?:\/\/)/.test(url), 'must start with file: (SQLite) or postgresql:// (PostgreSQL)'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),

  // Authentication (README "Authentication").
  REGISTRY_ADMIN_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters (e.g. the output of `openssl rand -hex 32`)')
    .max(512, 'must be at most 512 characters')
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces (it travels in an Authorization header)')
    .optional(),
  REGISTRY_ANONYMOUS_READ: Flag.default(false),

  // Limits and headers.
  RATE_LIMIT_MAX: z.coerce.number().int().min(0).max(1_000_000).default(600),
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
});

export type Settings = z.infer<typeof SettingsSchema>;

export class SettingsError extends Error {}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  // Empty variables count as unset, as in most twelve-factor services.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = SettingsSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'settings');
    // Never echo the value: DATABASE_URL may carry a password, REGISTRY_ADMIN_TOKEN is one.
    throw new SettingsError(`Invalid setting ${name}: ${issue.message}`);
  }
  return parsed.data;
}
