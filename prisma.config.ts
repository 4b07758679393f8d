// Configuration for the Prisma CLI. The app does not read it: src/store/database.ts picks the
// client and adapter from DATABASE_URL, and src/store/migrate.ts applies the migrations.
//
// DATABASE_URL chooses the schema and the migrations folder, so that on a machine with Prisma's
// schema-engine binary `prisma migrate deploy|status` work against either database:
//   file:...           prisma/schema.prisma             prisma/migrations/sqlite
//   postgresql://...   prisma/postgresql/schema.prisma  prisma/migrations/postgresql
// (the PostgreSQL schema is derived by scripts/prisma-generate.mjs). Not `env('DATABASE_URL')`:
// it throws when the variable is unset, even for `prisma generate`.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'prisma/config';

const url = process.env.DATABASE_URL ?? 'file:./dev.db';
const postgres = /^postgres(ql)?:\/\//i.test(url);

// `prisma generate` wants a schema-engine binary to exist but never runs it; it cannot be
// downloaded here, so point it at a stub that exits 1 (scripts/prisma-generate.mjs does the same).
if (process.argv.includes('generate') && process.env.PRISMA_SCHEMA_ENGINE_BINARY === undefined) {
  process.env.PRISMA_SCHEMA_ENGINE_BINARY = fileURLToPath(new URL('./scripts/schema-engine-stub.sh', import.meta.url));
}

export default defineConfig({
  schema: postgres ? 'prisma/postgresql/schema.prisma' : 'prisma/schema.prisma',
  migrations: { path: postgres ? 'prisma/migrations/postgresql' : 'prisma/migrations/sqlite' },
  datasource: { url },
});
