/**
 * The web dashboard: serves the bundle built by `scripts/build-web.mjs` (web/dist) at `/`.
 *
 * Caching: files under /assets/ carry a content hash in their name, so they are cached for a
 * year as `immutable`; index.html (and anything else unhashed) is `no-cache`, so a rebuilt
 * dashboard is picked up on the next load. The dashboard routes itself with the URL hash, so
 * only `/` serves the page.
 *
 * Compression: the build writes brotli and gzip siblings (`.br`, `.gz`) of every text file;
 * they are sent as they are to clients that accept them (`Vary: Accept-Encoding`), so nothing is
 * compressed per request.
 *
 * If web/dist is missing (install scripts skipped), the server still starts: it logs a warning
 * and `/` explains how to build the dashboard, instead of crashing.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fp from 'fastify-plugin'
import fastifyStatic from '@fastify/static'

export interface DashboardOptions {
  /** Folder with the built dashboard (default: web/dist at the repository root). */
  distDir?: string
}

export const DEFAULT_DIST_DIR = fileURLToPath(new URL('../../../web/dist/', import.meta.url))

/** Hashed assets never change under the same name. */
export const IMMUTABLE = 'public, max-age=31536000, immutable'
export const NO_CACHE = 'no-cache'

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>wirehub · dashboard not built</title>
<style>body{font:15px/1.5 system-ui,sans-serif;background:#f4f6fb;color:#1e293b;display:grid;place-items:center;min-height:100vh;margin:0}
main{background:#fff;padding:32px 40px;border-radius:12px;box-shadow:0 4px 24px rgba(15,23,42,.08);max-width:520px}
code{background:#eef2ff;padding:2px 6px;border-radius:4px}</style></head>
<body><main><h1>The dashboard is not built yet</h1>
<p>wirehub is running, but the web dashboard's files (<code>web/dist</code>) are missing, usually because
npm's install scripts were skipped.</p><p>Run <code>npm run build:web</code> and reload this page.</p>
<p>The APIs work meanwhile: see <a href="/docs">/docs</a>.</p></main></body></html>`

export default fp<DashboardOptions>(
  async function dashboardModule(app, opts) {
    const root = opts.distDir ?? DEFAULT_DIST_DIR
    const log = app.log.child({ module: 'dashboard' })

    if (!existsSync(join(root, 'index.html'))) {
      log.warn({ distDir: root }, 'web dashboard not built (web/dist/index.html missing): run `npm run build:web`; serving a placeholder at /')
      app.get('/', { schema: { hide: true } }, async (_request, reply) =>
        reply.code(503).header('cache-control', NO_CACHE).type('text/html; charset=utf-8').send(NOT_BUILT_PAGE),
      )
      return
    }

    await app.register(fastifyStatic, {
      root,
      prefix: '/',
      index: ['index.html'],
      // Our own Cache-Control per file below; @fastify/static's default would override it.
      cacheControl: false,
      // Only hashed assets and index.html exist; never list folders or serve dotfiles.
      list: false,
      dotfiles: 'deny',
      // Unknown paths fall through to the app's JSON 404 (the wildcard calls callNotFound).
      wildcard: true,
      schemaHide: true,
      preCompressed: true,
      setHeaders(res, sentPath) {
        // With a compressed sibling sent, the path is that of the `.br`/`.gz` file.
        const path = sentPath.replace(/\.(br|gz)$/, '')
        const hashed = /[\\/]assets[\\/][^\\/]+-[A-Z0-9]{8}\.[a-z0-9.]+$/i.test(path)
        if (/\.(js|css|html|svg)$/.test(path)) res.setHeader('vary', 'accept-encoding')
        res.setHeader('cache-control', hashed ? IMMUTABLE : NO_CACHE)
        res.setHeader('x-content-type-options', 'nosniff')
        if (path.endsWith('.html')) {
          res.setHeader('x-frame-options', 'DENY')
          res.setHeader('referrer-policy', 'same-origin')
        }
      },
    })
    log.debug({ distDir: root }, 'serving the web dashboard at /')
  },
  { name: 'dashboard' },
)
