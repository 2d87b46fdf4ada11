/**
 * A start that fails after the holder is running (its run folder removed meanwhile, e.g. the
 * server was deleted while starting) leaves no process behind: without its record no wirehub
 * would ever find that holder or its game again. Real holder, real game process.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { Holder } from '../../src/modules/servers/holder.js'
import type { HolderStart } from '../../src/modules/servers/holder-process.js'
import { localSpawner, type Spawner } from '../../src/modules/servers/spawner.js'
import { until } from '../wait.js'

/** Gone: no such process, or a zombie waiting to be reaped. */
async function gone(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null)
  return stat === null || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
}

t.test('a holder whose record cannot be written is killed with its game', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wirehub-holder-spawn-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const runDir = join(dir, 'run')
  const local = localSpawner()
  let holderPid = 0
  let gamePid = 0
  // Should the check fail, the processes still go.
  t.teardown(() => {
    for (const pid of [gamePid, holderPid]) {
      try {
        if (pid > 0) process.kill(-pid, 'SIGKILL')
      } catch {
        /* gone */
      }
    }
  })
  const spawner: Spawner = {
    ...local,
    async spawn(h: HolderStart) {
      holderPid = await local.spawn(h)
      // The game is up, then its run folder disappears before the holder's record is written.
      gamePid = await until(async () => Number.parseInt(await readFile(join(runDir, 'game.pid'), 'utf8').catch(() => ''), 10) || 0, 'the game pid', 10_000)
      await rm(runDir, { recursive: true, force: true })
      return holderPid
    },
  }
  const start = Holder.spawn({
    runDir,
    logFile: join(dir, 'console.log'),
    lastSeq: 0,
    logBytes: 0,
    maxBytes: 1 << 20,
    keep: 1,
    cgroupProcs: [],
    argv: ['sleep', '300'],
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    spawner,
  })
  await t.rejects(start, { code: 'ENOENT' }, 'the start fails')
  t.ok(gamePid > 0 && gamePid !== holderPid, 'the game had started in a process of its own')
  await until(async () => (await gone(gamePid)) && (await gone(holderPid)), 'the holder and its game to be gone', 10_000)
  t.pass('neither the holder nor the game outlives the failed start')
})
