/**
 * The dashboard plugin: `/` serves the built index.html with `no-cache`, hashed assets are
 * immutable for a year, brotli and gzip built at build time are sent to clients that accept
 * them, unknown paths still get the API's JSON 404, and a missing web/dist
 * gives a warning and a placeholder page instead of a crash.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import t from 'tap'
import dashboardModule, { DEFAULT_DIST_DIR, IMMUTABLE, NO_CACHE } from '../../src/modules/dashboard/dashboard.plugin.js'
import { build } from '../helper.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

t.before(() => {
  // A fresh clone runs it from postinstall; build here too so the test never depends on that.
  if (!existsSync(join(DEFAULT_DIST_DIR, 'index.html'))) execFileSync(process.execPath, ['scripts/build-web.mjs'], { cwd: ROOT, stdio: 'ignore' })
})

t.test('serves index.html without caching and hashed assets as immutable', async (t) => {
  const { app } = await build(t)
  const index = await app.inject({ method: 'GET', url: '/' })
  t.equal(index.statusCode, 200)
  t.match(index.headers['content-type'], /text\/html/)
  t.equal(index.headers['cache-control'], NO_CACHE)
  const assets = [...index.body.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1] as string)
  t.equal(assets.length, 2, 'one script and one stylesheet')
  for (const url of assets) {
    t.match(url, /-[A-Z0-9]{8}\.(js|css)$/, `${url} is content-hashed`)
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 200, url)
    t.equal(res.headers['cache-control'], IMMUTABLE, `${url} cached for a year`)
    t.equal(res.headers['x-content-type-options'], 'nosniff')
  }
  const js = assets.find((a) => a.endsWith('.js'))!
  t.match((await app.inject({ method: 'GET', url: js })).headers['content-type'], /javascript/)

  const missing = await app.inject({ method: 'GET', url: '/api/client/nope-nothing-here' })
  t.equal(missing.statusCode, 404)
  t.match(missing.headers['content-type'], /json/, 'unknown API paths keep the JSON 404')
  t.equal((await app.inject({ method: 'GET', url: '/assets/' })).statusCode, 404, 'no directory listing')
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'API routes win over the static wildcard')
})

t.test('pre-compressed brotli and gzip, chosen by Accept-Encoding, same bytes once decoded', async (t) => {
  const { app } = await build(t)
  const index = await app.inject({ method: 'GET', url: '/' })
  const urls = ['/', ...[...index.body.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1] as string)]
  for (const url of urls) {
    const plain = await app.inject({ method: 'GET', url, headers: { 'accept-encoding': 'identity' } })
    t.equal(plain.headers['content-encoding'], undefined, `${url}: identity when nothing else is accepted`)
    const br = await app.inject({ method: 'GET', url, headers: { 'accept-encoding': 'gzip, deflate, br' } })
    t.equal(br.headers['content-encoding'], 'br', `${url}: brotli preferred`)
    t.ok(br.rawPayload.length < plain.rawPayload.length, `${url}: brotli is smaller (${br.rawPayload.length} < ${plain.rawPayload.length})`)
    t.ok(brotliDecompressSync(br.rawPayload).equals(plain.rawPayload), `${url}: brotli decodes to the file`)
    const gz = await app.inject({ method: 'GET', url, headers: { 'accept-encoding': 'gzip' } })
    t.equal(gz.headers['content-encoding'], 'gzip', `${url}: gzip when brotli is not accepted`)
    t.ok(gunzipSync(gz.rawPayload).equals(plain.rawPayload), `${url}: gzip decodes to the file`)
    for (const res of [plain, br, gz]) {
      t.equal(res.headers['content-type'], plain.headers['content-type'], `${url}: content type of the file, not of the archive`)
      t.equal(res.headers['cache-control'], url === '/' ? NO_CACHE : IMMUTABLE, `${url}: caching unchanged by the encoding`)
      t.match(res.headers.vary, /accept-encoding/i, `${url}: caches keep the encodings apart`)
    }
  }
})

t.test('a missing web/dist logs a warning and serves a placeholder instead of crashing', async (t) => {
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (l: string) => lines.push(l) } } })
  t.teardown(() => app.close())
  await app.register(dashboardModule, { distDir: join(mkdtempSync(join(tmpdir(), 'wirehub-nodist-')), 'dist') })
  await app.ready()
  const res = await app.inject({ method: 'GET', url: '/' })
  t.equal(res.statusCode, 503)
  t.match(res.body, /npm run build:web/)
  t.equal(res.headers['cache-control'], NO_CACHE)
  t.ok(lines.some((l) => /npm run build:web/.test(l) && /"level":40/.test(l)), 'logged one warning naming the fix')
})

t.test('the built index.html references only files that exist', async (t) => {
  const html = readFileSync(join(DEFAULT_DIST_DIR, 'index.html'), 'utf8')
  for (const m of html.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)) t.ok(existsSync(join(DEFAULT_DIST_DIR, String(m[1]))), String(m[1]))
})
