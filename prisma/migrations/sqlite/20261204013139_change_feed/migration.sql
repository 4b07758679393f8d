-- CreateTable
CREATE TABLE "registry_revision" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "value" INTEGER NOT NULL
);

-- CreateTable
CREATE TABLE "registry_event" (
    "revision" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
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
