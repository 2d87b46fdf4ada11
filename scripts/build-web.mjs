#!/usr/bin/env node
/**
 * Builds the web dashboard: bundles web/src/main.ts (and the CSS it imports: our styles, xterm's
 * and uPlot's) with esbuild into web/dist/assets/ under content-hashed names, then writes
 * web/dist/index.html from web/index.html pointing at them. Runs from `postinstall` (so a fresh
 * `npm install` / `npm ci` leaves a servable dashboard), from `npm run build:web`, and in the
 * Dockerfile's build stage.
 *
 * Hashed names let the server cache assets for a year (`immutable`) while index.html is served
 * with `no-cache`, so a new build is picked up on the next page load. Every text file (JS, CSS,
 * HTML) also gets a brotli (`.br`, quality 11) and a gzip (`.gz`, level 9) sibling,
 * compressed once here so the server sends them as they are instead of compressing per request.
 * Source maps are left uncompressed: only developer tools fetch them, and brotli at quality 11 on
 * the 2 MB map would triple the build time.
 *
 *   node scripts/build-web.mjs            one production build (minified, with a source map)
 *   node scripts/build-web.mjs --dev      not minified (readable stack traces while working on it)
 */
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { brotliCompress, constants as zlib, gzip } from 'node:zlib'
import { basename, dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const WEB = join(ROOT, 'web')
const DIST = join(WEB, 'dist')
const dev = process.argv.includes('--dev')
const COMPRESSIBLE = /\.(js|css|html|svg)$/

const brotli = promisify(brotliCompress)
const gz = promisify(gzip)

/** Writes `<file>.br` and `<file>.gz` next to every compressible file under DIST; returns the bundles' sizes. */
async function precompress() {
  const files = (await readdir(DIST, { recursive: true })).map(String).filter((f) => COMPRESSIBLE.test(f))
  const entry = { js: null, css: null }
  await Promise.all(
    files.map(async (f) => {
      const path = join(DIST, f)
      const body = await readFile(path)
      const [b, g] = await Promise.all([
        brotli(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: body.length } }),
        gz(body, { level: 9 }),
      ])
      await Promise.all([writeFile(`${path}.br`, b), writeFile(`${path}.gz`, g)])
      if (/\.(js|css)$/.test(f)) entry[f.endsWith('.js') ? 'js' : 'css'] = { raw: body.length, br: b.length, gz: g.length }
    }),
  )
  return entry
}

async function main() {
  const started = Date.now()
  // A clean folder: stale hashed files would otherwise pile up across builds.
  await rm(DIST, { recursive: true, force: true })
  await mkdir(join(DIST, 'assets'), { recursive: true })

  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [join(WEB, 'src', 'main.ts')],
    outdir: join(DIST, 'assets'),
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    splitting: false,
    platform: 'browser',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    minify: !dev,
    sourcemap: 'linked',
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
    tsconfig: join(WEB, 'tsconfig.json'),
    loader: { '.svg': 'file', '.woff2': 'file' },
  })

  const outputs = Object.keys(result.metafile.outputs)
  const js = outputs.find((f) => f.endsWith('.js'))
  const css = outputs.find((f) => f.endsWith('.css'))
  if (!js || !css) throw new Error(`esbuild produced no ${js ? 'CSS' : 'JavaScript'} bundle`)
  const href = (f) => '/' + relative(DIST, join(ROOT, f)).split('\\').join('/')

  const template = await readFile(join(WEB, 'index.html'), 'utf8')
  const html = template.replace('<!--styles-->', `<link rel="stylesheet" href="${href(css)}">`).replace('<!--scripts-->', `<script type="module" src="${href(js)}"></script>`)
  if (html === template) throw new Error('web/index.html lacks the <!--styles--> / <!--scripts--> placeholders')
  await writeFile(join(DIST, 'index.html'), html)

  const entry = await precompress()
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`
  const size = (e) => `${kib(e.raw)} (br ${kib(e.br)}, gz ${kib(e.gz)})`
  process.stdout.write(`build-web: ${basename(js)} ${size(entry.js)}, ${basename(css)} ${size(entry.css)} → web/dist in ${Date.now() - started} ms\n`)
}

main().catch((err) => {
  process.stderr.write(`build-web failed: ${err?.stack ?? err}\n`)
  process.exit(1)
})
