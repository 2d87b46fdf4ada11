/**
 * CPU share and the cgroup v2 path. Where wirehub may write cgroup v1 (root here), a game that
 * burns CPU under `limits.cpu` is throttled by the kernel (cpu.stat counts throttled periods and
 * the stats stay near the limit). Cgroup v2: the files a server group gets (memory.max, cpu.max,
 * pids.max, swap off) and the OOM count read from memory.events, checked in a plain folder, and
 * the detection of a v2 folder: kernel enforcement under v2 needs the memory, cpu and pids
 * controllers in the unified hierarchy, which a hybrid v1 host (cgroup.controllers of its unified
 * mount lists none of them) cannot give.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { rmdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ServerCgroup, detectCgroups } from '../../src/modules/servers/cgroups.js'
import { setup } from './console-helpers.js'

const CPU_LIMIT = 2

t.test('cgroup v2 server group: limit files and OOM count', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wirehub-cgv2-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const group = new ServerCgroup({ version: 2, reason: null, parents: { memory: dir, cpu: dir, pids: dir } }, 'srv')
  const procs = await group.prepare({ memoryMb: 256, cpuPercent: 150, pids: 512 })
  t.same(procs, [join(dir, 'srv', 'cgroup.procs')], 'one group to join (unified hierarchy)')
  const read = (f: string) => readFileSync(join(dir, 'srv', f), 'utf8')
  t.equal(read('memory.max'), String(256 * 1048576))
  t.equal(read('memory.swap.max'), '0', 'no swap: the memory limit is the limit')
  t.equal(read('cpu.max'), '150000 100000', '150 % of one core: 150 ms per 100 ms period')
  t.equal(read('pids.max'), '512')
  await group.prepare({ memoryMb: 0, cpuPercent: 0, pids: 0 })
  t.equal(read('memory.max'), 'max', 'no memory limit')
  t.equal(read('cpu.max'), 'max 100000', 'no CPU limit')
  t.equal(read('pids.max'), 'max')
  writeFileSync(join(dir, 'srv', 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n')
  t.equal(await group.oomKills(), 1, 'oom_kill from memory.events')
})

t.test('a cgroup v2 folder is used only when it can enable memory, cpu and pids', async (t) => {
  const unified = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].find((d) => existsSync(join(d, 'cgroup.controllers')))
  if (!unified) {
    const support = await detectCgroups(join(tmpdir(), 'no-cgroup-here', 'x'))
    t.equal(support.version, null, 'no unified hierarchy: no v2 limits')
    return
  }
  const controllers = readFileSync(join(unified, 'cgroup.controllers'), 'utf8').trim().split(' ')
  const folder = join(unified, `wirehub-test-${process.pid}`)
  t.teardown(() => rmdir(folder).catch(() => {}))
  const support = await detectCgroups(folder)
  const usable = ['memory', 'cpu', 'pids'].every((c) => controllers.includes(c))
  if (usable) t.equal(support.version, 2, `${unified} offers ${controllers.join(' ')}: v2 limits`)
  else {
    t.equal(support.version, null, `${unified} offers only "${controllers.join(' ')}": no v2 limits`)
    t.match(support.reason, /memory, cpu and pids/, 'and the reason says which controllers are missing')
  }
})

t.test('CPU limit: the kernel throttles a game that burns CPU', async (t) => {
  const env = await setup(t)
  const cgroups = env.app.serversIsolation.current.cgroups
  if (!cgroups.parents.cpu) {
    // Not root and no delegated v2 folder: CPU limits are not enforced here, as documented.
    t.equal(env.app.serversIsolation.current.cgroups.parents.cpu, undefined, `no writable cpu controller (${cgroups.reason ?? 'v1 cpu not writable'})`)
    return
  }
  const s = await env.server({ command: '/bin/sh', args: ['-c', 'echo burning; while :; do :; done'], done_pattern: null, limits: { cpu: CPU_LIMIT, memory: 0 } })
  const { client } = await env.connect(s.uuid, env.admin.clientKey)
  client.send('set state', 'start')
  await client.line('burning')
  const group = join(cgroups.parents.cpu, s.uuid)
  const quota = cgroups.version === 1 ? readFileSync(join(group, 'cpu.cfs_quota_us'), 'utf8').trim() : readFileSync(join(group, 'cpu.max'), 'utf8').split(' ')[0]
  t.equal(quota, String(CPU_LIMIT * 1000), `${CPU_LIMIT} % of one core is ${CPU_LIMIT} ms per 100 ms period`)
  // Two seconds of burning: throttled periods counted, and the sampled CPU stays near the limit.
  const samples: number[] = []
  const until = Date.now() + 2500
  while (Date.now() < until) {
    const f = await client.next('stats')
    const st = JSON.parse(f.args![0]!) as { cpu_absolute: number; state: string }
    if (st.state === 'running') samples.push(st.cpu_absolute)
  }
  const throttled = Number(/nr_throttled (\d+)/.exec(readFileSync(join(group, 'cpu.stat'), 'utf8'))?.[1] ?? 0)
  t.ok(throttled > 0, `the kernel throttled the game (${throttled} periods)`)
  // A sample is whole clock ticks (10 ms) over a stats period (200 ms): single samples jump in
  // 5 % steps, their mean converges on the real share (an unthrottled loop would be ~100 %).
  const later = samples.slice(2)
  const mean = later.reduce((a, b) => a + b, 0) / Math.max(1, later.length)
  t.ok(later.length >= 3 && mean <= CPU_LIMIT * 3, `CPU near the ${CPU_LIMIT} % limit: mean ${mean.toFixed(1)} % of ${later.map((c) => c.toFixed(1)).join(', ')}`)
  client.send('set state', 'kill')
  await client.status('offline')
})
