# syntax=docker/dockerfile:1
# The registry service, built the way CI builds and tests it (.ci/run) and started the way the
# README starts it:
#   build    npm ci (generates both Prisma clients, builds dist/ and the web UI in dist/ui/), the
#            same checks as .ci/run, then the dev dependencies pruned away;
#   runtime  dist/, the production node_modules and the migrations, run as the unprivileged
#            `node` user with `node dist/main.js` (package.json's "start").
# test/container/dockerfile.test.ts keeps this file in step with .ci/run and package.json, and
# `npm run check:container` runs its steps without a Docker engine (see README "Containers").
#   docker build -t convert-config-registry .
#   docker run -p 8080:8080 -v registry-data:/data convert-config-registry

# Node 24 (active LTS), the version CI tests on: package.json's "node" dev dependency, which
# npm's scripts run on every machine (test/container/ keeps the two equal).
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /app
# No compiler: better-sqlite3 13 ships Node-API prebuilt binaries inside its npm package.
# CI's npm: npm 11 runs only the dependency install scripts that package.json "allowScripts" approves.
RUN npm install -g npm@11.19.1 --no-audit --no-fund
COPY package.json package-lock.json LICENSE tsconfig.json tsconfig.build.json prisma.config.ts ./
COPY scripts ./scripts
COPY prisma ./prisma
COPY src ./src
COPY ui ./ui
RUN npm ci --no-audit --no-fund
RUN node -e "new (require('better-sqlite3'))(':memory:').close()" \
 && test -f src/generated/sqlite/client.ts \
 && test -f src/generated/pg/client.ts
# Production dependencies only. npm keeps a dev dependency that a production one lists as an
# optional peer (the prisma CLI and typescript, for @prisma/client) unless optional and peer
# dependencies are omitted too: 143 MB instead of 385 MB. `npm run check:container` starts the
# service on the result.
RUN npm prune --omit=dev --omit=optional --omit=peer --no-audit --no-fund

FROM node:24.21.0-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATABASE_URL=file:/data/registry.db
WORKDIR /app
# Owned by root and only readable by the service user: it can write nothing but /data.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/LICENSE ./LICENSE
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma/migrations ./prisma/migrations
RUN mkdir -p /data && chown node:node /data
USER node
# The SQLite file, when DATABASE_URL is not PostgreSQL.
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# package.json's "start", without npm in between: node is PID 1 and gets SIGTERM itself
# (graceful shutdown: in-flight requests finish, then exit 0; give it 15 s, see docker-compose.yml).
# V8's heap, sized for a replica in 256 MB (BENCHMARKS.md): 8 MB semi-spaces (the young
# generation otherwise grows to 32 MB under load and is never given back) and a 192 MB old space
# (without a limit V8 lets garbage from large pages pile up to ~270 MB before collecting; the live
# data is ~50 MB, the config cache included). For a bigger container, raise --max-old-space-size
# here and in package.json's "start" together.
CMD ["node", "--max-semi-space-size=8", "--max-old-space-size=192", "dist/main.js"]
