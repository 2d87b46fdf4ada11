/**
 * An exclusive lock on the data folder. PGlite has no lock of its own, and two processes writing
 * the same folder corrupt it, so the app takes this lock before opening the database. The lock is
 * a file created with O_EXCL holding the owner's pid; a lock left by a dead process is taken over.
 */
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { hostname } from 'node:os'

export class DataDirLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(
      `the data folder ${dir} is in use by another wirehub process (pid ${pid}); ` +
        'stop it first, or give this one another DATA_DIR',
    )
    this.name = 'DataDirLockedError'
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM means the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Writes the owner record to a private file, then hard-links it into place: the link either
 * appears complete or fails with EEXIST, so no contender ever reads a half-written lock. */
function tryCreate(path: string): boolean {
  const tmp = `${path}.${process.pid}.tmp`
  const fd = openSync(tmp, 'w', 0o600)
  writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }))
  closeSync(fd)
  try {
    linkSync(tmp, path)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  } finally {
    unlinkSync(tmp)
  }
}

function readOwner(path: string): number | undefined {
  try {
    const pid = (JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown }).pid
    return typeof pid === 'number' ? pid : undefined
  } catch {
    return undefined
  }
}

/** Takes the lock or throws DataDirLockedError; returns the release function. */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, 'wirehub.lock')
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(path)) {
      return () => {
        if (readOwner(path) === process.pid) unlinkSync(path)
      }
    }
    const owner = readOwner(path)
    if (owner !== undefined && owner !== process.pid && isAlive(owner)) throw new DataDirLockedError(dir, owner)
    // Stale: move it aside atomically so only one contender removes it, then retry.
    try {
      renameSync(path, `${path}.stale-${process.pid}`)
      unlinkSync(`${path}.stale-${process.pid}`)
    } catch {
      /* another process won the takeover; the next create decides */
    }
  }
  throw new DataDirLockedError(dir, readOwner(path) ?? -1)
}
