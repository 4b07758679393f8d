#!/bin/sh
# Stand-in for Prisma's schema-engine binary, which cannot be downloaded on these machines.
# `prisma generate` only checks that an engine exists; it never runs it. Anything that does
# run it (migrate, db push) should fail loudly rather than pretend: see prisma/README.md.
echo "schema-engine stub: the Prisma schema engine binary is not installed here; use" \
  "'npm run db:migration -- <name>' to write migrations (see prisma/README.md)" >&2
exit 1
