/** The pure console pieces: ring buffer, line splitter, Wings output throttle, permissions. */
import { spawn } from 'node:child_process'
import t from 'tap'
import { LineSplitter, MAX_LINE_CHARS, OutputThrottle, RingBuffer, daemonLine } from '../../src/modules/servers/console-buffer.js'
import { has, normaliseSubuserPermissions, permissionsFor } from '../../src/modules/servers/permissions.js'
import { TreeSampler, parseStat, treeOf } from '../../src/modules/servers/process-stats.js'

t.test('ring buffer keeps the last N lines, oldest first', async (t) => {
  const r = new RingBuffer(3)
  t.same(r.last(5), [])
  for (const x of ['a', 'b', 'c', 'd', 'e']) r.push(x)
  t.equal(r.size, 3)
  t.same(r.last(5), ['c', 'd', 'e'])
  t.same(r.last(2), ['d', 'e'])
  r.clear()
  t.same(r.last(3), [])
  t.throws(() => new RingBuffer(0))
})

t.test('line splitter: \\n, \\r\\n, lone \\r, chunk borders, UTF-8, ANSI, 64 KiB cut', async (t) => {
  const s = new LineSplitter()
  t.same(s.push('a\nb\r\nc\rd'), ['a', 'b', 'c'])
  t.same(s.push('e\n'), ['de'])
  t.same(s.push('x\r'), ['x'])
  t.same(s.push('\ny\n'), ['y'], 'a \\r\\n split across chunks is one break')
  const euro = Buffer.from('€\n')
  t.same(s.push(euro.subarray(0, 1)), [])
  t.same(s.push(euro.subarray(1)), ['€'], 'a UTF-8 sequence split across chunks')
  t.same(s.push('\u001b[33mwarn\u001b[0m\n'), ['\u001b[33mwarn\u001b[0m'], 'ANSI kept')
  t.same(s.push('\n\n'), ['', ''], 'empty lines kept')
  const long = s.push('z'.repeat(MAX_LINE_CHARS * 2 + 5))
  t.same(long.map((l) => l.length), [MAX_LINE_CHARS, MAX_LINE_CHARS], 'runaway line cut without waiting for a newline')
  t.same(s.flush(), ['zzzzz'])
  const small = new LineSplitter(4)
  t.same(small.push('abcdefghij\n'), ['abcd', 'efgh', 'ij'])
})

t.test('output throttle: N per window, one strike per episode', async (t) => {
  const th = new OutputThrottle(3, 100)
  t.same([0, 1, 2, 3, 4, 5].map((i) => th.check(i)), ['pass', 'pass', 'pass', 'strike', 'drop', 'drop'])
  t.ok(th.throttling)
  t.same([100, 101, 102, 103, 104].map((i) => th.check(i)), ['pass', 'pass', 'pass', 'strike', 'drop'], 'a new window, a new episode')
  t.equal(th.check(250), 'pass')
  t.notOk(th.throttling)
})

t.test('daemon lines and permissions', async (t) => {
  t.equal(daemonLine('hi'), '\u001b[33m\u001b[1m[wirehub Daemon]:\u001b[0m hi')
  t.ok(has(['*'], 'control.start'))
  t.notOk(has(['*'], 'admin.websocket.errors'), '* does not grant admin permissions (Wings)')
  t.same(permissionsFor({ isOwner: true, isRootAdmin: false, subuserPermissions: null }), { role: 'owner', permissions: ['*'] })
  t.same(permissionsFor({ isOwner: false, isRootAdmin: true, subuserPermissions: null })?.permissions, ['*', 'admin.websocket.errors'])
  t.equal(permissionsFor({ isOwner: false, isRootAdmin: false, subuserPermissions: null }), null)
  t.same(normaliseSubuserPermissions(['control.start', 'control.start']), { ok: true, permissions: ['control.start', 'websocket.connect'] })
  t.same(normaliseSubuserPermissions(['admin.websocket.errors', 'nope']), { ok: false, unknown: ['admin.websocket.errors', 'nope'] })
})

t.test('process stats: /proc parsing and tree walk', async (t) => {
  const e = parseStat('42 (my (odd) name) S 1 42 42 0 -1 4194304 0 0 0 0 150 50 0 0 20 0 1 0 100 1000 2560 0')
  t.same(e, { pid: 42, ppid: 1, ticks: 200, rssPages: 2560 })
  const all = [
    { pid: 1, ppid: 0, ticks: 1, rssPages: 1 },
    { pid: 10, ppid: 1, ticks: 5, rssPages: 10 },
    { pid: 11, ppid: 10, ticks: 5, rssPages: 20 },
    { pid: 12, ppid: 11, ticks: 5, rssPages: 30 },
    { pid: 13, ppid: 1, ticks: 5, rssPages: 40 },
  ]
  t.same(treeOf(10, all).map((p) => p.pid), [10, 11, 12])
  t.same(treeOf(99, all), [])
})

t.test('process stats: a real tree is sampled by walking down from its root (not a scan of every process)', async (t) => {
  // sh → sleep, sh → sh → sleep: four processes, two levels below the root.
  const child = spawn('/bin/sh', ['-c', 'sleep 30 & /bin/sh -c "sleep 30 & wait" & wait'], { stdio: 'ignore', detached: true })
  t.teardown(() => process.kill(-child.pid!, 'SIGKILL'))
  const sampler = new TreeSampler(child.pid!)
  let s = await sampler.sample()
  for (let i = 0; i < 100 && s.processes < 4; i++) {
    await new Promise((r) => setTimeout(r, 20))
    s = await sampler.sample()
  }
  t.equal(s.processes, 4, 'the root and its three descendants')
  t.ok(s.memoryBytes > 0, 'their memory')
  t.equal((await new TreeSampler(2 ** 22 + 1).sample()).processes, 0, 'no such process: an empty tree')
})
