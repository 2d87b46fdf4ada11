/**
 * Whether dist/ is the build of the current sources: its stamp (written last by
 * `npm run build`) is newer than every file the build reads. `build.mjs --if-needed` uses it to
 * skip a build, and the tests that spawn wirehub processes use it to run the compiled entry
 * points instead of paying tsx's loader in every child (they fall back to tsx when it is false).
 */
import { readdir, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
export const DIST = join(ROOT, 'dist')
export const STAMP = join(DIST, '.build-stamp')
/** What the build reads: a change to any of these makes dist/ stale. */
const SOURCES = ['src', 'prisma', 'web/src', 'web/index.html', 'packages/client/src', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json']
/** Written by the build itself (prisma generate), so never newer than what it was made from. */
export const SKIP = new Set([join(ROOT, 'src', 'generated')])

async function newest(path) {
  if (SKIP.has(path)) return 0
  let s
  try {
    s = await stat(path)
  } catch {
    return 0
  }
  if (!s.isDirectory()) return s.mtimeMs
  let max = s.mtimeMs
  for (const entry of await readdir(path)) max = Math.max(max, await newest(join(path, entry)))
  return max
}

/** True when dist/ exists and no source is newer than its build stamp. */
export async function distIsCurrent() {
  let built
  try {
    built = (await stat(STAMP)).mtimeMs
  } catch {
    return false
  }
  for (const source of SOURCES) if ((await newest(join(ROOT, source))) > built) return false
  return true
}
