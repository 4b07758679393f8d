// The committed migrations and prisma/schema.prisma must describe the same database: a schema
// change without a migration (or a hand-edited migration that changes more than collations)
// fails here. Diffs come from Prisma's schema engine (WebAssembly build), as `prisma migrate diff`.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { datamodel, diffSql, liveDatabase } from '../../scripts/schema-engine.js';
import { sqliteFilePath } from '../../src/store/database.js';
import { applyMigrations } from '../../src/store/migrate.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';

const schema = readFileSync(new URL('../../prisma/schema.prisma', import.meta.url), 'utf8');
const snapshot = readFileSync(new URL('../../prisma/migrations/schema.snapshot.prisma', import.meta.url), 'utf8');

describe.each(BACKENDS)('migrations vs prisma/schema.prisma on %s', (kind) => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase(kind);
  });
  afterEach(async () => {
    await db.drop();
  });

  const engineUrl = () => (kind === 'sqlite' ? sqliteFilePath(db.url) : db.url);

  it('a freshly migrated database matches the schema', async () => {
    await applyMigrations(kind, db.url);
    const sql = await diffSql({
      provider: kind,
      url: engineUrl(),
      from: liveDatabase(kind, schema),
      to: datamodel(kind, schema),
    });
    expect(sql, 'prisma/schema.prisma changed without a migration: run `npm run db:migration -- <name>`').toBe('');
  });

  it('notices a difference (the check above can fail)', async () => {
    await applyMigrations(kind, db.url);
    const changed = `${schema}\nmodel DriftProbe {\n  id Int @id\n  @@map("drift_probe")\n}\n`;
    const sql = await diffSql({
      provider: kind,
      url: engineUrl(),
      from: liveDatabase(kind, schema),
      to: datamodel(kind, changed),
    });
    expect(sql).toMatch(/CREATE TABLE "drift_probe"/);
  });
});

describe('prisma/migrations/schema.snapshot.prisma', () => {
  it('is the schema as last migrated (scripts/new-migration.ts diffs from it)', async () => {
    const sql = await diffSql({
      provider: 'sqlite',
      url: ':memory:',
      from: datamodel('sqlite', snapshot),
      to: datamodel('sqlite', schema),
    });
    expect(sql, 'run `npm run db:migration -- <name>` after changing prisma/schema.prisma').toBe('');
  });
});
