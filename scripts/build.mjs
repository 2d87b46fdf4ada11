#!/usr/bin/env node
/**
 * `npm run build`: everything production runs, made from the sources.
 *   1. the Prisma client, generated into src/generated/prisma (scripts/prisma-generate.mjs);
 *   2. the web dashboard, bundled into web/dist (scripts/build-web.mjs);
 *   3. the server, compiled by tsc into dist/ (tsconfig.build.json; dist/ mirrors src/, so paths
 *      a module resolves from its own location, such as ../../../prisma, hold in both), plus the
 *      non-TypeScript files that live next to the code (the demo game server, the server holder);
 *   4. a stamp, dist/.build-stamp, recording when the build finished.
 *
 *   node scripts/build.mjs               build
 *   node scripts/build.mjs --if-needed   build only when dist/ is missing or a source is newer
 *                                        than the stamp (`npm start` runs this first, so
 *                                        `npm ci && npm start` works on a fresh clone)
 *   node scripts/build.mjs --assets      steps 1 and 2 only (postinstall: tests and typecheck run
 *                                        from the sources but need the client and the dashboard),
 *                                        plus `tap build` when tap is installed (see below);
 *                                        skipped with a note when the build tools are not installed
 */
import { spawnSync } from 'node:child_process'
import { cp, mkdir, readdir, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { DIST, ROOT, SKIP, STAMP, distIsCurrent } from './build-freshness.mjs'

/** Files next to the code that tsc does not emit but the server loads at run time. */
const ASSET = /\.(mjs|cjs|json|sh)$/

const args = new Set(process.argv.slice(2))

function run(what, argv) {
  const started = Date.now()
  const res = spawnSync(process.execPath, argv, { cwd: ROOT, stdio: 'inherit' })
  if (res.status !== 0) {
    process.stderr.write(`build: ${what} failed\n`)
    process.exit(res.status ?? 1)
  }
  return Date.now() - started
}

async function copyAssets(from, to) {
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const src = join(from, entry.name)
    if (SKIP.has(src)) continue
    if (entry.isDirectory()) await copyAssets(src, join(to, entry.name))
    else if (ASSET.test(entry.name)) {
      await mkdir(to, { recursive: true })
      await cp(src, join(to, entry.name))
    }
  }
}

function installed(pkg) {
  try {
    createRequire(join(ROOT, 'package.json')).resolve(`${pkg}/package.json`)
    return true
  } catch {
    return false
  }
}

async function main() {
  if (args.has('--assets')) {
    const missing = ['prisma', 'esbuild'].filter((p) => !installed(p))
    if (missing.length > 0) {
      process.stdout.write(`build: ${missing.join(', ')} not installed (production install); skipping the generated client and the dashboard\n`)
      return
    }
    run('prisma generate', ['scripts/prisma-generate.mjs'])
    run('the dashboard', ['scripts/build-web.mjs'])
    // tap ships its Test class built with its default plugins, TypeScript (ts-node) among them,
    // and only rebuilds it for the plugin list in .taprc during the first `tap` run, after that
    // run has already chosen its loaders: every test process of the first run after `npm ci`
    // then also loaded ts-node (~3.7 s of CPU each on top of tsx). Building here makes the first
    // run like every later one.
    if (installed('tap')) {
      const tap = join(dirname(createRequire(join(ROOT, 'package.json')).resolve('tap/package.json')), 'dist/esm/run.mjs')
      run('tap build', [tap, 'build'])
    }
    return
  }
  if (args.has('--if-needed') && (await distIsCurrent())) return

  const started = Date.now()
  run('prisma generate', ['scripts/prisma-generate.mjs'])
  run('the dashboard', ['scripts/build-web.mjs'])
  const tsc = createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc')
  const ms = run('tsc', [tsc, '-p', 'tsconfig.build.json'])
  await copyAssets(join(ROOT, 'src'), DIST)
  await writeFile(STAMP, `${new Date().toISOString()}\n`)
  process.stdout.write(`build: server compiled into ${relative(ROOT, DIST)}/ (tsc ${ms} ms); done in ${Date.now() - started} ms\n`)
}

main().catch((err) => {
  process.stderr.write(`build failed: ${err?.stack ?? err}\n`)
  process.exit(1)
})
