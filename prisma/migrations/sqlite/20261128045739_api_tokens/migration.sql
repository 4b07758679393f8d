-- CreateTable
CREATE TABLE "api_token" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "role" TEXT NOT NULL,
    "secret_hash" TEXT NOT NULL,
    "created_at" DATETIME NOT NULL,
    "created_by" TEXT NOT NULL
);

-- CreateIndex
CREATE UNIQUE INDEX "api_token_secret_hash_key" ON "api_token"("secret_hash");
