#!/usr/bin/env node
/**
 * Builds the web dashboard: bundles web/src/main.ts (and the CSS it imports: our styles, xterm's
 * and uPlot's) with esbuild into web/dist/assets/ under content-hashed names, then writes
 * web/dist/index.html from web/index.html pointing at them. Runs from `postinstall` (so a fresh
 * `npm install` / `npm ci` leaves a servable dashboard), from `npm run build:web`, and in the
 * Dockerfile's build stage.
 *
 * Hashed names let the server cache assets for a year (`immutable`) while index.html is served
 * with `no-cache`, so a new build is picked up on the next page load.
 *
 *   node scripts/build-web.mjs            one production build (minified, with a source map)
 *   node scripts/build-web.mjs --dev      not minified (readable stack traces while working on it)
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const WEB = join(ROOT, 'web')
const DIST = join(WEB, 'dist')
const dev = process.argv.includes('--dev')

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

  const size = (f) => `${(result.metafile.outputs[f].bytes / 1024).toFixed(1)} KiB`
  process.stdout.write(`build-web: ${basename(js)} ${size(js)}, ${basename(css)} ${size(css)} → web/dist in ${Date.now() - started} ms\n`)
}

main().catch((err) => {
  process.stderr.write(`build-web failed: ${err?.stack ?? err}\n`)
  process.exit(1)
})
