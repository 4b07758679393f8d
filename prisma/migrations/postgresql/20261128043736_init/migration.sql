-- Hand-edited after generation (scripts/new-migration.ts), see prisma/README.md:
-- * Text columns that are keys, or that lists sort or page on, use COLLATE "C" so that ORDER BY
--   compares Unicode code points, as the API requires and as SQLite's BINARY collation does; the
--   database's default collation (e.g. en_US.UTF-8) would sort "B" between "a" and "c".
--   Prisma's schema language cannot say this, so it lives only here.
-- * The generated `CREATE SCHEMA IF NOT EXISTS "public"` is dropped: the tables go to the
--   connection's search_path, and CREATE SCHEMA needs a privilege the app's role may not have.

-- CreateTable
CREATE TABLE "module_class" (
    "id" TEXT COLLATE "C" NOT NULL,
    "from_observed" BOOLEAN NOT NULL DEFAULT false,
    "description" TEXT NOT NULL DEFAULT '',
    "built_in" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "module_class_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "config" (
    "name" TEXT COLLATE "C" NOT NULL,
    "latest_version" INTEGER NOT NULL,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "deleted_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "config_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "config_version" (
    "config_name" TEXT COLLATE "C" NOT NULL,
    "version" INTEGER NOT NULL,
    "config_json" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "labels_json" TEXT NOT NULL,
    "content_hash" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,
    "updated_by" TEXT NOT NULL,

    CONSTRAINT "config_version_pkey" PRIMARY KEY ("config_name","version")
);

-- CreateTable
CREATE TABLE "config_label" (
    "config_name" TEXT COLLATE "C" NOT NULL,
    "key" TEXT COLLATE "C" NOT NULL,
    "value" TEXT COLLATE "C" NOT NULL,

    CONSTRAINT "config_label_pkey" PRIMARY KEY ("config_name","key")
);

-- CreateTable
CREATE TABLE "config_class_ref" (
    "config_name" TEXT COLLATE "C" NOT NULL,
    "class_id" TEXT COLLATE "C" NOT NULL,
    "as_quantized" BOOLEAN NOT NULL,

    CONSTRAINT "config_class_ref_pkey" PRIMARY KEY ("config_name","class_id")
);

-- CreateTable
CREATE TABLE "registry_meta" (
    "key" TEXT COLLATE "C" NOT NULL,
    "value" TEXT NOT NULL,

    CONSTRAINT "registry_meta_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "config_deleted_name_idx" ON "config"("deleted", "name");

-- CreateIndex
CREATE INDEX "config_label_key_value_config_name_idx" ON "config_label"("key", "value", "config_name");

-- CreateIndex
CREATE INDEX "config_class_ref_class_id_config_name_idx" ON "config_class_ref"("class_id", "config_name");

-- AddForeignKey
ALTER TABLE "config_version" ADD CONSTRAINT "config_version_config_name_fkey" FOREIGN KEY ("config_name") REFERENCES "config"("name") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "config_label" ADD CONSTRAINT "config_label_config_name_fkey" FOREIGN KEY ("config_name") REFERENCES "config"("name") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "config_class_ref" ADD CONSTRAINT "config_class_ref_config_name_fkey" FOREIGN KEY ("config_name") REFERENCES "config"("name") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "config_class_ref" ADD CONSTRAINT "config_class_ref_class_id_fkey" FOREIGN KEY ("class_id") REFERENCES "module_class"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
