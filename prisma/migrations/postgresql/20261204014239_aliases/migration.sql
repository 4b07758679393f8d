-- Hand-edited after generation (scripts/new-migration.ts), see prisma/README.md: COLLATE "C" on
-- config_name and alias (keys; aliases list in code-point order, as on SQLite).

-- CreateTable
CREATE TABLE "config_alias" (
    "config_name" TEXT COLLATE "C" NOT NULL,
    "alias" TEXT COLLATE "C" NOT NULL,
    "version" INTEGER NOT NULL,
    "protected" BOOLEAN NOT NULL DEFAULT false,
    "moves" INTEGER NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,
    "updated_by" TEXT NOT NULL,

    CONSTRAINT "config_alias_pkey" PRIMARY KEY ("config_name","alias")
);

-- CreateTable
CREATE TABLE "config_alias_move" (
    "config_name" TEXT COLLATE "C" NOT NULL,
    "alias" TEXT COLLATE "C" NOT NULL,
    "seq" INTEGER NOT NULL,
    "version" INTEGER,
    "previous_version" INTEGER,
    "protected" BOOLEAN NOT NULL,
    "moves" INTEGER NOT NULL,
    "moved_at" TIMESTAMP(3) NOT NULL,
    "moved_by" TEXT NOT NULL,

    CONSTRAINT "config_alias_move_pkey" PRIMARY KEY ("config_name","alias","seq")
);

-- AddForeignKey
ALTER TABLE "config_alias" ADD CONSTRAINT "config_alias_config_name_version_fkey" FOREIGN KEY ("config_name", "version") REFERENCES "config_version"("config_name", "version") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "config_alias_move" ADD CONSTRAINT "config_alias_move_config_name_fkey" FOREIGN KEY ("config_name") REFERENCES "config"("name") ON DELETE CASCADE ON UPDATE CASCADE;
