#!/usr/bin/env node
/**
 * `npm test [-- <test files or tap options>]`: the suite, run from JavaScript.
 *
 * Every test file is its own Node process, and a TypeScript loader in each of them (tsx) costs
 * about a second of CPU per process on module loading alone (on Node 20 the loader's hooks run
 * on a separate thread and every import is a round trip to it); with ~110 files on 2 cores that
 * was a minute and a half of the suite. So the sources the tests import are transpiled once, by
 * esbuild (what tsx runs anyway, with the same tsconfig), into a mirror of the repository,
 * `.test-build/`, and tap runs the mirror without a loader:
 *
 *   - each `.ts` becomes a `.js` next to a link to its source (tests that start `src/server.ts`
 *     through tsx, or read a source file, find it where they look), with an inline source map
 *     (stack traces name the `.ts` line);
 *   - every other file is a link, and so are whole folders nothing is compiled in (node_modules/,
 *     dist/, web/dist/, data/, …), so a path a module resolves from its own location
 *     (`../../prisma/migrations`, `../../web/dist`) holds in the mirror as in the checkout.
 *
 * Each test file's own code goes to `x.test.main.js`, and `x.test.js`, the file tap runs, starts
 * it in a child process without tap's process-info hook (scripts/test-child.mjs).
 *
 * Type checking is not this step's job (`npm run typecheck`, and the build's tsc). The mirror is
 * rebuilt from scratch on every run (about a second), so it is never stale.
 *
 *   npm test                                  the whole suite
 *   npm test -- test/servers/sandbox.test.ts  one file (paths as in the checkout), tap options pass through
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const MIRROR = join(ROOT, '.test-build')
/** Never mirrored: the mirror itself, and what git and tap keep for themselves. */
const IGNORED = new Set(['.test-build', '.git', '.tap'])

const CHILD = pathToFileURL(join(ROOT, 'scripts/test-child.mjs')).href

const require = createRequire(join(ROOT, 'package.json'))
const esbuild = require('esbuild')
const tsconfigRaw = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8'))

/** Linked as a whole wherever they are: nothing in them is compiled for the tests. */
const LINKED = new Set(['node_modules', 'dist', 'data', 'test-artifacts', 'coverage'])

async function mirrorTree(from, to, jobs) {
  await mkdir(to, { recursive: true })
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (IGNORED.has(entry.name)) continue
    const src = join(from, entry.name)
    const dst = join(to, entry.name)
    if (entry.isDirectory() && !LINKED.has(entry.name)) {
      await mirrorTree(src, dst, jobs)
      continue
    }
    jobs.push(symlink(src, dst))
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) continue
    const out = dst.slice(0, -3)
    if (!entry.name.endsWith('.test.ts')) {
      jobs.push(transpile(src, `${out}.js`))
      continue
    }
    // A test file: tap starts `x.test.js`, which runs `x.test.main.js` in a child without tap's
    // process-info hook (scripts/test-child.mjs says why).
    const main = `${entry.name.slice(0, -3)}.main.js`
    jobs.push(transpile(src, join(to, main)))
    jobs.push(writeFile(`${out}.js`, `import { runTest } from ${JSON.stringify(CHILD)}\nrunTest(new URL(${JSON.stringify(`./${main}`)}, import.meta.url))\n`))
  }
}

async function transpile(src, out) {
  const code = readFileSync(src, 'utf8')
  const res = await esbuild.transform(code, {
    loader: 'ts',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'inline',
    // Stack traces name the .ts file and line; the source text itself is in the checkout. With
    // it, every module's map is several times larger, and Node parses each one at load.
    sourcesContent: false,
    sourcefile: src,
    tsconfigRaw,
  })
  await writeFile(out, res.code)
}

async function build() {
  await rm(MIRROR, { recursive: true, force: true })
  const jobs = []
  await mirrorTree(ROOT, MIRROR, jobs)
  await Promise.all(jobs)
}

/** A test file named as in the checkout (`test/x.test.ts`) → its mirror; anything else unchanged. */
function mapArg(arg) {
  if (arg.startsWith('-') || !/\.ts$/.test(arg)) return arg
  const rel = relative(ROOT, join(process.cwd(), arg))
  return join(relative(process.cwd(), MIRROR), rel).replace(/\.ts$/, '.js')
}

const started = Date.now()
await build()
process.stderr.write(`test: sources transpiled into ${relative(ROOT, MIRROR)}/ in ${Date.now() - started} ms\n`)
const tap = spawn(process.execPath, [join(ROOT, 'node_modules/tap/dist/esm/run.mjs'), ...process.argv.slice(2).map(mapArg)], {
  cwd: ROOT,
  stdio: 'inherit',
})
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => tap.kill(sig))
tap.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
