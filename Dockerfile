# wirehub container images: wirehub itself (the default target) and the launcher that starts its
# game servers (`--target launcher`), so that stopping or upgrading the wirehub container leaves
# the games running. docker-compose.yml runs both; by hand:
#
#   docker build -t wirehub . && docker build --target launcher -t wirehub-launcher .
#   docker run -d --name wirehub-launcher --init -v wirehub-data:/data \
#     --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
#     --security-opt systempaths=unconfined wirehub-launcher          # the options bwrap needs
#   docker run -d --name wirehub --pid container:wirehub-launcher -v wirehub-data:/data \
#     -p 3000:3000 wirehub                                            # embedded PGlite in /data
#
# (`-e DATABASE_URL=postgres://... -e SOCKET_TOKEN_SECRET=...` for PostgreSQL.) wirehub joins the
# launcher's pid namespace to find, watch and signal the games after a restart. One container
# alone: `-e SERVERS_LAUNCHER=` (empty) makes wirehub start games itself; they then end with it.
#
# Four stages: `prod-deps` installs the runtime dependencies only, `build` installs everything and
# runs `npm run build` (Prisma client generated, dashboard bundled, TypeScript compiled to dist/),
# `launcher` holds the launcher, the holder script and the demo game, and `runtime` gets the
# compiled output and the runtime dependencies, with no compiler, bundler or Prisma CLI in it. Migrations are applied at start-up by the in-process wasm schema engine, so
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

# ---- launcher: starts the game servers, in a container of its own -------------------------------
# Games run here (under their holders, inside bubblewrap), not in wirehub's container. The image
# holds only what they need: bubblewrap, the launcher, the holder script and the demo game, none
# of wirehub's code, dependencies or configuration. Its layers change only when those files do,
# so rebuilding for a wirehub upgrade gives the same launcher image and compose leaves the
# launcher container, and every game in it, running. Add the runtimes your games need (a JRE …)
# here. A minimal package.json (not the project's, which changes with every release) makes the
# compiled files ES modules.
FROM ${NODE_IMAGE} AS launcher
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap \
 && rm -rf /var/lib/apt/lists/* \
 && printf '{"type":"module"}\n' > package.json \
 && mkdir -p /data \
 && chown node:node /data
COPY --from=build /app/dist/launcher.js ./dist/
COPY --from=build /app/dist/modules/servers/holder-process.js ./dist/modules/servers/
COPY --from=build /app/dist/modules/servers/holder ./dist/modules/servers/holder
COPY --from=build /app/dist/modules/servers/demo ./dist/modules/servers/demo
ENV SERVERS_LAUNCHER=/data/launcher.sock
VOLUME ["/data"]
# Same user as wirehub's stage (wirehub refuses a launcher running as another user).
USER node
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "dist/launcher.js", "--check"]
# Exits on SIGTERM; the games are in this container, so stopping it ends them (run it with
# `--init` so orphaned game processes are reaped).
CMD ["node", "dist/launcher.js"]

# ---- runtime ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="wirehub" \
      org.opencontainers.image.description="Self-hosted real-time gateway (websockets)" \
      org.opencontainers.image.licenses="MIT"
WORKDIR /app
# The app never branches on NODE_ENV; these are the container-specific defaults. HOST must not be
# the loopback default or nothing outside the container can connect.
# Game servers are started by the launcher container (stage above) on its socket in the shared
# data volume, so they keep running when this container stops or is replaced by a newer image.
ENV HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data \
    SERVERS_LAUNCHER=/data/launcher.sock
# bubblewrap for the single-container mode (SERVERS_LAUNCHER empty: wirehub starts games itself;
# it then needs the container security options documented in README.md, "Sandbox and limits").
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
# behind npm) so it receives the signal itself. In the launcher's pid namespace
# (`--pid container:…`) the launcher's init reaps orphans; alone, add `--init`.
# Migrations by hand (with AUTO_MIGRATE=false): `docker run … wirehub node dist/migrate.js`.
# A lost administrator password: `docker compose exec wirehub node dist/admin-reset-password.js <email>`.
STOPSIGNAL SIGTERM
CMD ["node", "dist/server.js"]
