# wirehub container image.
#
#   docker build -t wirehub .
#   docker run -p 3000:3000 -v wirehub-data:/data wirehub                # embedded PGlite in /data
#   docker run -p 3000:3000 -e DATABASE_URL=postgres://... -e SOCKET_TOKEN_SECRET=... wirehub
#
# The TypeScript sources run through tsx (a runtime dependency), so there is no compile step. The
# Prisma client is generated at build time; migrations are applied at start-up by the in-process
# wasm schema engine, so the image needs neither the Prisma CLI's native engines nor a network
# connection when it starts. Configuration: see .env.example (every variable, with its default).

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- deps: dependencies, the generated Prisma client, then production dependencies only --------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV PRISMA_HIDE_UPDATE_MESSAGE=1 \
    CHECKPOINT_DISABLE=1
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency install script is needed (esbuild ships its binary as an
# optional dependency; Prisma's would only download native engines we never use), and our own
# postinstall needs prisma/ and scripts/, which are copied next.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY prisma ./prisma
COPY scripts ./scripts
# `prisma generate` into src/generated/prisma (the script points the CLI at a dummy schema engine:
# generate never executes it, so the build downloads no engine). Then drop the dev dependencies:
# tsx, the Prisma client and the wasm migration engine are regular dependencies.
RUN node scripts/prisma-generate.mjs \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
# The web dashboard: esbuild bundles web/src (and the SDK in packages/client/src) into web/dist with
# content-hashed names. esbuild, xterm and uPlot are regular dependencies, so they survive the prune.
COPY packages ./packages
COPY web ./web
RUN node scripts/build-web.mjs

# ---- runtime ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="wirehub" \
      org.opencontainers.image.description="Self-hosted real-time gateway (websockets)" \
      org.opencontainers.image.licenses="MIT"
WORKDIR /app
# The app never branches on NODE_ENV; these are the container-specific defaults. HOST must not be
# the loopback default or nothing outside the container can connect.
ENV HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data \
    PRISMA_HIDE_UPDATE_MESSAGE=1 \
    CHECKPOINT_DISABLE=1
# Application files stay owned by root (read-only for the process); only /data is writable. The
# folder is created and chowned before VOLUME so a fresh named volume inherits the ownership.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY prisma ./prisma
COPY scripts ./scripts
COPY src ./src
COPY --from=deps /app/src/generated ./src/generated
COPY --from=deps /app/web/dist ./web/dist
RUN mkdir -p /data \
 && chown node:node /data
VOLUME ["/data"]
# `node` (uid 1000) comes with the official image.
USER node
EXPOSE 3000
# Liveness only (/ready also checks the database). Node 20 has fetch; slim images have no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# server.ts finishes in-flight work on SIGTERM within SHUTDOWN_TIMEOUT (10 s by default; give the
# container a longer stop timeout, e.g. `docker stop -t 15`). Node runs as the main process (not
# behind npm or the tsx CLI) so it receives the signal itself; `--init` adds zombie reaping.
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "src/server.ts"]
