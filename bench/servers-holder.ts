/**
 * Game-server holder benchmark (not a test): memory per idle holder and re-attach time.
 *
 *   node --import tsx bench/servers-holder.ts [servers=100]
 *
 * 1. Starts `servers` idle games (`cat`, reading its stdin FIFO) through wirehub, sandboxed when
 *    bwrap works here, and sums the memory of what each server costs besides the game itself:
 *    the holder (sh, its subshell, awk) and, when sandboxed, the two bwrap processes. RSS counts
 *    shared library pages in every process; PSS divides them among the processes sharing them,
 *    so PSS is what one more server adds.
 * 2. Closes that wirehub (the games keep running), then builds a new one on the same database and
 *    data folder, and times it until every game is re-attached (its `ready`), against a build of
 *    an app with no servers on the same machine: the difference is the re-attach cost.
 * The apps run on fresh PostgreSQL databases as the tests do.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build, bearer, freshDatabase } from '../test/helper.js'
import { KEY_TYPE_CLIENT } from '../src/modules/auth/api-key.format.js'

const SERVERS = Number(process.argv[2] ?? 100)
const teardowns: Array<() => unknown> = []
const t = { teardown: (fn: () => unknown) => teardowns.push(fn) }

async function children(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')
  return text.trim().split(' ').filter(Boolean).map(Number)
}

async function memoryOf(pid: number): Promise<{ rss: number; pss: number; comm: string }> {
  const text = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '')
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024
  const comm = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim()
  return { rss: kb('Rss'), pss: kb('Pss'), comm }
}

/** Every process under the holder except the game (the last non-bwrap descendant). */
async function overhead(holderPid: number): Promise<{ rss: number; pss: number; processes: number }> {
  let rss = 0
  let pss = 0
  let processes = 0
  const stack = [holderPid]
  while (stack.length) {
    const pid = stack.pop()!
    const m = await memoryOf(pid)
    const kids = await children(pid)
    const isGame = m.comm === 'cat' && kids.length === 0
    if (!isGame) {
      rss += m.rss
      pss += m.pss
      processes++
    }
    stack.push(...kids)
  }
  return { rss, pss, processes }
}

async function main() {
  const DATABASE_URL = await freshDatabase(t)
  const DATA_DIR = mkdtempSync(join(tmpdir(), 'wirehub-bench-holder-'))
  teardowns.push(() => rmSync(DATA_DIR, { recursive: true, force: true }))
  const env = { DATABASE_URL, DATA_DIR, SERVERS_STOP_ON_SHUTDOWN: 'false', STATS_INTERVAL_MS: '5000', RATE_LIMIT_MAX: '1000000' }
  const first = await build(t, { env })
  const admin = await first.app.prisma.user.findFirstOrThrow({ where: { rootAdmin: true } })
  const { key: clientKey } = await first.app.apiKeys.create(admin, KEY_TYPE_CLIENT, { description: 'bench' })
  const uuids: string[] = []
  for (let i = 0; i < SERVERS; i++) {
    const res = await first.app.inject({
      method: 'POST', url: '/api/application/servers', headers: bearer(first.adminKey),
      payload: { name: `idle ${i}`, user: admin.id, command: 'cat', stop: { type: 'signal', value: 'SIGTERM' } },
    })
    uuids.push(res.json().attributes.uuid as string)
  }
  teardowns.unshift(() => {
    for (const uuid of uuids) {
      try {
        process.kill(-Number(readFileSync(join(DATA_DIR, 'holders', uuid, 'game.pid'), 'utf8')), 'SIGKILL')
      } catch {
        /* not running */
      }
    }
  })
  const sandboxed = first.app.serversIsolation.current.sandbox.kind === 'bwrap'
  const startedAt = performance.now()
  for (const uuid of uuids) await first.app.inject({ method: 'POST', url: `/api/client/servers/${uuid}/power`, headers: bearer(clientKey), payload: { signal: 'start' } })
  const state = (app: typeof first.app, uuid: string) =>
    app.inject({ method: 'GET', url: `/api/application/servers/${uuid}`, headers: bearer(first.adminKey) }).then((r) => r.json().attributes.state as string)
  for (const uuid of uuids) while ((await state(first.app, uuid)) !== 'running') await new Promise((r) => setTimeout(r, 20))
  console.log(`started ${SERVERS} idle games in ${Math.round(performance.now() - startedAt)} ms (sandbox: ${sandboxed ? 'bwrap' : 'none'})`)

  let rss = 0
  let pss = 0
  let processes = 0
  for (const uuid of uuids) {
    const holder = JSON.parse(readFileSync(join(DATA_DIR, 'holders', uuid, 'holder.json'), 'utf8')).pid as number
    const o = await overhead(holder)
    rss += o.rss
    pss += o.pss
    processes += o.processes
  }
  console.log(
    `memory per idle server besides the game: PSS ${(pss / SERVERS / 1024).toFixed(0)} KiB, RSS ${(rss / SERVERS / 1024).toFixed(0)} KiB ` +
      `(${(processes / SERVERS).toFixed(1)} processes: holder sh, subshell, awk${sandboxed ? ', 2 × bwrap' : ''})`,
  )

  await first.app.close()
  await build(t, { env: { SERVERS_STOP_ON_SHUTDOWN: 'true' } }) // warm-up: the first build pays for module loading
  const baselineAt = performance.now()
  await build(t, { env: { SERVERS_STOP_ON_SHUTDOWN: 'true' } })
  const baseline = performance.now() - baselineAt
  const reattachAt = performance.now()
  const second = await build(t, { env: { ...env, SERVERS_STOP_ON_SHUTDOWN: 'true' } })
  const reattach = performance.now() - reattachAt
  let running = 0
  for (const uuid of uuids) if ((await state(second.app, uuid)) === 'running') running++
  console.log(`re-attach: app with ${SERVERS} running games ready in ${Math.round(reattach)} ms, an app without servers in ${Math.round(baseline)} ms: ${Math.round(reattach - baseline)} ms for ${running}/${SERVERS} re-attached`)
  for (const fn of teardowns.reverse()) await fn()
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
