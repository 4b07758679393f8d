-- Hand-edited after generation (scripts/new-migration.ts): no AUTOINCREMENT on the integer keys
-- (revisions are always given explicitly, and AUTOINCREMENT would rewrite sqlite_sequence on every
-- event), and the trigger at the end.

-- CreateTable
CREATE TABLE "registry_revision" (
    "id" INTEGER NOT NULL PRIMARY KEY,
    "value" INTEGER NOT NULL
);

-- CreateTable
CREATE TABLE "registry_event" (
    "revision" INTEGER NOT NULL PRIMARY KEY,
    "type" TEXT NOT NULL,
    "at" DATETIME NOT NULL,
    "actor" TEXT NOT NULL,
    "config_name" TEXT,
    "version" INTEGER,
    "alias" TEXT,
    "class_id" TEXT
);

-- CreateIndex
CREATE INDEX "registry_event_config_name_revision_idx" ON "registry_event"("config_name", "revision");

-- Written by hand: the one revision row, at 0 (no change yet). A migration runs once per
-- database, so replicas starting together never make two. The built-in module classes the seed
-- migration registered get no events: they are there before revision 1, as the registry's
-- starting state, which a consumer reads by listing the classes.
INSERT INTO "registry_revision" ("id", "value") VALUES (1, 0);

-- Written by hand: the counter follows every event inserted, the service's appends (which take
-- the next revision from it in the same statement, see src/store/event-log.ts) and an import's
-- rows alike, so an append is one statement. SQLite only: PostgreSQL increments the counter in
-- the append's own statement, whose row lock orders the commits. Prisma's schema language has no
-- triggers, and its diff ignores them.
CREATE TRIGGER "registry_event_counts" AFTER INSERT ON "registry_event" BEGIN
    UPDATE "registry_revision" SET "value" = MAX("value", NEW."revision") WHERE "id" = 1;
END;
