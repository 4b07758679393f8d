-- Hand-edited after generation (scripts/new-migration.ts), see prisma/README.md: COLLATE "C" on
-- the columns that hold config names, aliases and class ids, as everywhere else they are stored.

-- CreateTable
CREATE TABLE "registry_revision" (
    "id" INTEGER NOT NULL,
    "value" INTEGER NOT NULL,

    CONSTRAINT "registry_revision_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "registry_event" (
    "revision" INTEGER NOT NULL,
    "type" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "actor" TEXT NOT NULL,
    "config_name" TEXT COLLATE "C",
    "version" INTEGER,
    "alias" TEXT COLLATE "C",
    "class_id" TEXT COLLATE "C",

    CONSTRAINT "registry_event_pkey" PRIMARY KEY ("revision")
);

-- CreateIndex
CREATE INDEX "registry_event_config_name_revision_idx" ON "registry_event"("config_name", "revision");

-- Written by hand: the one revision row, at 0 (no change yet). A migration runs once per
-- database, so replicas starting together never make two. The built-in module classes the seed
-- migration registered get no events: they are there before revision 1, as the registry's
-- starting state, which a consumer reads by listing the classes.
INSERT INTO "registry_revision" ("id", "value") VALUES (1, 0);
