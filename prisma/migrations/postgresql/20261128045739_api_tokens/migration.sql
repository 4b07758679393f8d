-- Hand-edited after generation (scripts/new-migration.ts), see prisma/README.md: COLLATE "C" on
-- the key columns, so that token names list in code-point order as on SQLite (and so the
-- hex-digest index compares bytes).

-- CreateTable
CREATE TABLE "api_token" (
    "name" TEXT COLLATE "C" NOT NULL,
    "role" TEXT NOT NULL,
    "secret_hash" TEXT COLLATE "C" NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,
    "created_by" TEXT NOT NULL,

    CONSTRAINT "api_token_pkey" PRIMARY KEY ("name")
);

-- CreateIndex
CREATE UNIQUE INDEX "api_token_secret_hash_key" ON "api_token"("secret_hash");
