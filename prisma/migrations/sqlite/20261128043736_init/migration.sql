-- CreateTable
CREATE TABLE "module_class" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "from_observed" BOOLEAN NOT NULL DEFAULT false,
    "description" TEXT NOT NULL DEFAULT '',
    "built_in" BOOLEAN NOT NULL DEFAULT false,
    "created_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "config" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "latest_version" INTEGER NOT NULL,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "deleted_at" DATETIME,
    "created_at" DATETIME NOT NULL,
    "updated_at" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "config_version" (
    "config_name" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "config_json" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "labels_json" TEXT NOT NULL,
    "content_hash" TEXT NOT NULL,
    "created_at" DATETIME NOT NULL,
    "updated_by" TEXT NOT NULL,

    PRIMARY KEY ("config_name", "version"),
    CONSTRAINT "config_version_config_name_fkey" FOREIGN KEY ("config_name") REFERENCES "config" ("name") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "config_label" (
    "config_name" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,

    PRIMARY KEY ("config_name", "key"),
    CONSTRAINT "config_label_config_name_fkey" FOREIGN KEY ("config_name") REFERENCES "config" ("name") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "config_class_ref" (
    "config_name" TEXT NOT NULL,
    "class_id" TEXT NOT NULL,
    "as_quantized" BOOLEAN NOT NULL,

    PRIMARY KEY ("config_name", "class_id"),
    CONSTRAINT "config_class_ref_config_name_fkey" FOREIGN KEY ("config_name") REFERENCES "config" ("name") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "config_class_ref_class_id_fkey" FOREIGN KEY ("class_id") REFERENCES "module_class" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "registry_meta" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "value" TEXT NOT NULL
);

-- CreateIndex
CREATE INDEX "config_deleted_name_idx" ON "config"("deleted", "name");

-- CreateIndex
CREATE INDEX "config_label_key_value_config_name_idx" ON "config_label"("key", "value", "config_name");

-- CreateIndex
CREATE INDEX "config_class_ref_class_id_config_name_idx" ON "config_class_ref"("class_id", "config_name");
