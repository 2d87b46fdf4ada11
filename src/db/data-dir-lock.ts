/**
 * An exclusive lock on the data folder. PGlite has no lock of its own, and two processes writing
 * the same folder corrupt it, so the app takes this lock before opening the database.
 *
 * The lock itself is proper-lockfile's (`DATA_DIR/wirehub.lock.d`, a directory created
 * atomically whose modification time the holder refreshes every LOCK_UPDATE_MS). Beside it,
 * `wirehub.lock.json` records the holder's pid so that a second wirehub can say who holds the
 * folder, and refuse at once while that process lives. A lock left by a process that was killed
 * is taken over once its time stamp is older than TAKEOVER_STALE_MS (a few seconds after the
 * kill; the holder never lets it age that much while it runs).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import lockfile from 'proper-lockfile'

/** How often the holder refreshes the lock's time stamp. */
const LOCK_UPDATE_MS = 1_000
/**
 * The holder counts its own lock as lost when it could not refresh it for this long (the event
 * loop blocked, the disk gone): generous, since PGlite runs queries on the main thread.
 */
const HOLDER_STALE_MS = 30_000
/** A lock whose recorded holder is gone is taken over once its time stamp is this old. */
const TAKEOVER_STALE_MS = 3_000
/** How long a contender waits for a dead holder's lock to age (a bit more than TAKEOVER_STALE_MS). */
const TAKEOVER_WAIT_MS = 5_000

export class DataDirLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number | undefined,
  ) {
    super(
      `the data folder ${dir} is in use by another wirehub process${pid === undefined ? '' : ` (pid ${pid})`}; ` +
        'stop it first, or give this one another DATA_DIR',
    )
    this.name = 'DataDirLockedError'
  }
}

interface Owner {
  pid: number
  host: string
  since: string
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

function readOwner(path: string): Owner | undefined {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as Partial<Owner>
    return typeof owner.pid === 'number' && typeof owner.host === 'string' ? (owner as Owner) : undefined
  } catch {
    return undefined
  }
}

export interface DataDirLock {
  release(): Promise<void>
}

/**
 * Takes the lock or throws DataDirLockedError. `onLost` is called if the lock is lost while held
 * (it could not be refreshed for HOLDER_STALE_MS, or its directory was removed).
 */
export async function lockDataDir(dir: string, onLost: (err: Error) => void = () => {}): Promise<DataDirLock> {
  mkdirSync(dir, { recursive: true })
  const lockPath = join(dir, 'wirehub.lock.d')
  const ownerPath = join(dir, 'wirehub.lock.json')
  const options = { realpath: false, lockfilePath: lockPath, update: LOCK_UPDATE_MS, onCompromised: onLost }
  const deadline = Date.now() + TAKEOVER_WAIT_MS
  let releaseLock: (() => Promise<void>) | undefined
  for (;;) {
    try {
      releaseLock = await lockfile.lock(dir, { ...options, stale: HOLDER_STALE_MS })
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err
    }
    const owner = readOwner(ownerPath)
    // A holder on this machine that still runs: refuse now rather than after a wait.
    if (owner && owner.pid !== process.pid && (owner.host !== hostname() || isAlive(owner.pid))) throw new DataDirLockedError(dir, owner.pid)
    // The holder is gone (or has not written its record yet): its lock is taken over once it has
    // aged TAKEOVER_STALE_MS, which a live holder never lets happen.
    try {
      releaseLock = await lockfile.lock(dir, { ...options, stale: TAKEOVER_STALE_MS })
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err
    }
    if (Date.now() > deadline) throw new DataDirLockedError(dir, readOwner(ownerPath)?.pid)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  const owner: Owner = { pid: process.pid, host: hostname(), since: new Date().toISOString() }
  writeFileSync(ownerPath, JSON.stringify(owner), { mode: 0o600 })
  const release = releaseLock
  return {
    async release() {
      if (readOwner(ownerPath)?.pid === process.pid) rmSync(ownerPath, { force: true })
      // Already released (a second close) or lost: nothing of ours to remove.
      await release().catch(() => {})
    },
  }
}
