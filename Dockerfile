# wirehub container image.
#
#   docker build -t wirehub .
#   docker run -p 3000:3000 -v wirehub-data:/data wirehub                # embedded PGlite in /data
#   docker run -p 3000:3000 -e DATABASE_URL=postgres://... -e SOCKET_TOKEN_SECRET=... wirehub
#
# Three stages: `prod-deps` installs the runtime dependencies only, `build` installs everything and
# runs `npm run build` (Prisma client generated, dashboard bundled, TypeScript compiled to dist/),
# and `runtime` gets the compiled output and the runtime dependencies, with no compiler, bundler
# or Prisma CLI in it. Migrations are applied at start-up by the in-process wasm schema engine, so
# the image needs neither the CLI's native engines nor a network connection when it starts.
# Configuration: see .env.example (every variable, with its default).

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- prod-deps: runtime dependencies only --------------------------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=optional as well as dev: the Prisma CLI is an optional peer of @prisma/client, so npm
# keeps it (and ~200 MB of its dependencies) unless optional packages are left out too; nothing at
# run time needs an optional package. --ignore-scripts: no dependency install script is needed,
# and our own postinstall only builds what the build stage builds.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# ---- build: every dependency, then `npm run build` -----------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV PRISMA_HIDE_UPDATE_MESSAGE=1 \
    CHECKPOINT_DISABLE=1
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY prisma ./prisma
COPY scripts ./scripts
COPY src ./src
COPY packages ./packages
COPY web ./web
# scripts/build.mjs: `prisma generate` into src/generated/prisma (pointing the CLI at a dummy schema
# engine: generate never executes it, so nothing is downloaded), esbuild bundles the dashboard into
# web/dist, tsc compiles src/ (generated client included) into dist/.
RUN node scripts/build.mjs

# ---- runtime ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="wirehub" \
      org.opencontainers.image.description="Self-hosted real-time gateway (websockets)" \
      org.opencontainers.image.licenses="MIT"
WORKDIR /app
# The app never branches on NODE_ENV; these are the container-specific defaults. HOST must not be
# the loopback default or nothing outside the container can connect.
# Game servers die with the container whatever wirehub does, so stop them cleanly with it.
ENV HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data \
    SERVERS_STOP_ON_SHUTDOWN=true
# bubblewrap sandboxes the game servers (it needs the container's security options documented in
# README.md, "Sandbox and limits"; without them /ready reports the sandbox as unavailable).
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap \
 && rm -rf /var/lib/apt/lists/*
# Application files stay owned by root (read-only for the process); only /data is writable. The
# folder is created and chowned before VOLUME so a fresh named volume inherits the ownership.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
# The migrator reads the schema and the migrations folder at start-up.
COPY prisma ./prisma
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
RUN mkdir -p /data \
 && chown node:node /data
VOLUME ["/data"]
# `node` (uid 1000) comes with the official image.
USER node
EXPOSE 3000
# Liveness only (/ready also checks the database). Node has fetch; slim images have no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# server.js finishes in-flight work on SIGTERM within SHUTDOWN_TIMEOUT (10 s by default; give the
# container a longer stop timeout, e.g. `docker stop -t 15`). Node runs as the main process (not
# behind npm) so it receives the signal itself; `--init` adds zombie reaping.
# Migrations by hand (with AUTO_MIGRATE=false): `docker run … wirehub node dist/migrate.js`.
# A lost administrator password: `docker compose exec wirehub node dist/admin-reset-password.js <email>`.
STOPSIGNAL SIGTERM
CMD ["node", "dist/server.js"]
