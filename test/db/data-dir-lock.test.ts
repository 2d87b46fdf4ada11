/**
 * The data-folder lock between real processes: while a wirehub process holds the folder, another
 * is refused at once with one line naming the holder's pid; when the holder is killed (SIGKILL,
 * nothing cleaned up), its lock is taken over; a released lock leaves nothing behind.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DataDirLockedError, lockDataDir } from '../../src/db/data-dir-lock.js'

const TSX = import.meta.resolve('tsx')
const LOCK_MODULE = new URL('../../src/db/data-dir-lock.ts', import.meta.url).href

/** A process that takes the lock, says so on stdout, then waits to be killed. */
function holder(dir: string) {
  const code = `const { lockDataDir } = await import(${JSON.stringify(LOCK_MODULE)}); await lockDataDir(${JSON.stringify(dir)}); console.log('locked'); setInterval(() => {}, 1000)`
  const child = spawn(process.execPath, ['--import', TSX, '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
  const locked = new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (s: string) => s.includes('locked') && resolve())
    child.on('exit', (c) => reject(new Error(`holder exited (${c}) before locking`)))
  })
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  return { child, locked, exited }
}

t.test('one process per data folder; a killed holder\'s lock is taken over', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wirehub-lock-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const h = holder(dir)
  t.teardown(() => h.child.kill('SIGKILL'))
  await h.locked

  const refused = await lockDataDir(dir).then(() => null, (err: unknown) => err)
  t.ok(refused instanceof DataDirLockedError, 'a second process is refused')
  const message = (refused as Error).message
  t.match(message, new RegExp(`data folder ${dir} is in use by another wirehub process \\(pid ${h.child.pid}\\)`), 'naming the folder and the holder')
  t.notOk(message.includes('\n'), 'in one line')

  h.child.kill('SIGKILL')
  await h.exited
  t.ok(existsSync(join(dir, 'wirehub.lock.d')), 'the killed holder left its lock behind')
  const lock = await lockDataDir(dir)
  t.equal((JSON.parse(readFileSync(join(dir, 'wirehub.lock.json'), 'utf8')) as { pid: number }).pid, process.pid, 'the stale lock is taken over')
  await t.rejects(lockDataDir(dir), DataDirLockedError, 'and held: the same folder cannot be locked twice')
  await lock.release()
  t.notOk(existsSync(join(dir, 'wirehub.lock.d')), 'release removes the lock')
  t.notOk(existsSync(join(dir, 'wirehub.lock.json')), 'and the owner record')
  const again = await lockDataDir(dir)
  await again.release()
  await again.release() // a second release is harmless
})
