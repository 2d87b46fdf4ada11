/**
 * Start-up problems an operator can fix (a taken port, a data folder that cannot be written, a
 * database that cannot be reached) become one StartupError whose message says what is wrong and
 * which setting to change; `server.ts` prints it as one line, without a stack. The checks run
 * before anything is created, so a failing first start never creates (and prints) the
 * administrator's one-time credentials only to exit.
 */
import { accessSync, constants, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, resolve } from 'node:path'

export class StartupError extends Error {
  constructor(
    message: string,
    /** sysexits(3): 69 unavailable, 73 cannot create, 74 I/O error, 78 configuration. */
    readonly exitCode = 1,
  ) {
    super(message)
    this.name = 'StartupError'
  }
}

/**
 * What a file-system error code means for the operator. PGlite's in-wasm file system throws
 * `{name: 'ErrnoError', errno}` objects with the wasm C library's numbers, so both spellings map.
 */
const FS_REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a path component is a file, not a folder',
  EIO: 'an input/output error (failing disk?)',
}
const WASM_ERRNO: Record<number, string> = { 2: 'EACCES', 19: 'EDQUOT', 29: 'EIO', 51: 'ENOSPC', 54: 'ENOTDIR', 63: 'EPERM', 69: 'EROFS' }

/** The errno code of a Node or PGlite (wasm) file-system error, if it is one. */
export function fsErrorCode(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined
  const e = err as { code?: unknown; errno?: unknown; name?: unknown }
  if (typeof e.code === 'string' && e.code in FS_REASONS) return e.code
  if (e.name === 'ErrnoError' && typeof e.errno === 'number') return WASM_ERRNO[e.errno] ?? `errno ${e.errno}`
  return undefined
}

function reason(code: string): string {
  return FS_REASONS[code] ?? code
}

/** Creating `dir` failed: find the real cause (Node reports ENOENT for a recursive mkdir under a read-only parent). */
function creationProblem(dir: string, err: NodeJS.ErrnoException): string {
  let parent = dirname(dir)
  while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent)
  let code = err.code ?? 'EIO'
  if (code === 'ENOENT') {
    try {
      accessSync(parent, constants.W_OK)
      mkdirSync(`${parent}/.wirehub-probe-${process.pid}`)
      rmSync(`${parent}/.wirehub-probe-${process.pid}`, { recursive: true, force: true })
    } catch (probe) {
      code = (probe as NodeJS.ErrnoException).code ?? code
    }
  }
  const where = code === 'ENOSPC' ? '' : ` (in ${parent})`
  return `the data folder ${dir} (DATA_DIR) cannot be created: ${reason(code)}${where}; create it yourself or set DATA_DIR to a writable folder`
}

/** DATA_DIR exists (or can be created) and can be written; throws StartupError otherwise. */
export function checkDataDir(dataDir: string): void {
  const dir = resolve(dataDir)
  try {
    mkdirSync(dir, { recursive: true })
  } catch (err) {
    throw new StartupError(creationProblem(dir, err as NodeJS.ErrnoException), 73)
  }
  const probe = `${dir}/.write-probe-${process.pid}`
  try {
    writeFileSync(probe, 'wirehub')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO'
    throw new StartupError(`the data folder ${dir} (DATA_DIR) cannot be written: ${reason(code)}; free some space or fix its permissions, or set DATA_DIR to another folder`, 73)
  } finally {
    rmSync(probe, { force: true })
  }
}

/** The message for a file-system failure while opening the embedded database in `dataDir`. */
export function dataDirFailure(dataDir: string, err: unknown): StartupError | undefined {
  const code = fsErrorCode(err)
  if (!code) return undefined
  return new StartupError(`the embedded database in ${resolve(dataDir)} (DATA_DIR) cannot be written: ${reason(code)}; free some space or set DATA_DIR to another folder`, 74)
}

/**
 * Resolves when HOST:PORT can be bound, by binding it briefly. A small window remains before the
 * real listen; `server.ts` handles that case too, but this catches the common one (another
 * process already there) before the database is touched.
 */
export function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return Promise.resolve()
  return new Promise((resolvePromise, reject) => {
    const probe = createServer()
    probe.once('error', (err: NodeJS.ErrnoException) => reject(listenFailure(host, port, err)))
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolvePromise()))
  })
}

/** The one-line message for a failed listen (EADDRINUSE, EACCES, EADDRNOTAVAIL …). */
export function listenFailure(host: string, port: number, err: NodeJS.ErrnoException): StartupError {
  const at = `${host}:${port}`
  switch (err.code) {
    case 'EADDRINUSE':
      return new StartupError(`port ${port} on ${host} is already in use (another wirehub or another program); stop it or set PORT to a free port`, 69)
    case 'EACCES':
      return new StartupError(`not allowed to listen on ${at}: ports below 1024 need privileges; set PORT to 1024 or above`, 69)
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new StartupError(`cannot listen on ${at}: ${host} is not an address of this machine; set HOST (127.0.0.1, 0.0.0.0 or one of this machine's addresses)`, 69)
    default:
      return new StartupError(`cannot listen on ${at} (HOST, PORT): ${err.message}`, 69)
  }
}
