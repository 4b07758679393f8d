-- CreateTable
CREATE TABLE "config_alias" (
    "config_name" TEXT NOT NULL,
    "alias" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "protected" BOOLEAN NOT NULL DEFAULT false,
    "moves" INTEGER NOT NULL,
    "updated_at" DATETIME NOT NULL,
    "updated_by" TEXT NOT NULL,

    PRIMARY KEY ("config_name", "alias"),
    CONSTRAINT "config_alias_config_name_version_fkey" FOREIGN KEY ("config_name", "version") REFERENCES "config_version" ("config_name", "version") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "config_alias_move" (
    "config_name" TEXT NOT NULL,
    "alias" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "version" INTEGER,
    "previous_version" INTEGER,
    "protected" BOOLEAN NOT NULL,
    "moves" INTEGER NOT NULL,
    "moved_at" DATETIME NOT NULL,
    "moved_by" TEXT NOT NULL,

    PRIMARY KEY ("config_name", "alias", "seq"),
    CONSTRAINT "config_alias_move_config_name_fkey" FOREIGN KEY ("config_name") REFERENCES "config" ("name") ON DELETE CASCADE ON UPDATE CASCADE
);
