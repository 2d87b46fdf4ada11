/**
 * How tests run one of wirehub's entry points (`server`, `admin-reset-password`) as a child
 * process: the compiled `dist/<name>.js`, what `npm start` and the npm scripts run, when dist/ is
 * the build of the current sources (CI runs `npm run build` before `npm test`); otherwise
 * `src/<name>.ts` through tsx, so `npm ci && npm test` and a test run after an edit still work
 * without a build and never run stale code. tsx's loader costs every child ~2 s of CPU here
 * (measured: importing the app takes 1.2 s of CPU from dist, 3.0 s through tsx), and some test
 * files start a dozen children.
 *
 * Children also run with V8's `--liftoff-only`: the embedded database (PGlite), Prisma's schema
 * engine and its query compiler are large WebAssembly modules, and a short-lived child spends
 * more CPU optimising their hot functions than it gets back (a first embedded start measured
 * 8.4 s of CPU by default, 5.3 s with the flag). Only the JIT tier changes, not what runs.
 */
import { fileURLToPath } from 'node:url'
import { distIsCurrent } from '../scripts/build-freshness.mjs'

const TSX = import.meta.resolve('tsx')
/** Decided once per test process: the sources do not change while the suite runs. */
const USE_DIST = await distIsCurrent()

/** Node's arguments (before the entry point's own) to run `name`. */
export function entryArgs(name: string): string[] {
  return USE_DIST
    ? ['--liftoff-only', fileURLToPath(new URL(`../dist/${name}.js`, import.meta.url))]
    : ['--liftoff-only', '--import', TSX, fileURLToPath(new URL(`../src/${name}.ts`, import.meta.url))]
}
