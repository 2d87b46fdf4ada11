/**
 * Supervision of real demo processes: crash notice, memory-limit kill, output throttle with a
 * flooding server, one power action at a time (409 / daemon error) with kill always allowed,
 * stop falling back to a kill, a signal stop method, and servers coming back after a restart.
 */
import t from 'tap'
import { build, freshDatabase } from '../helper.js'
import { setup } from './console-helpers.js'

t.test('supervised processes', async (t) => {
  const env = await setup(t, { STOP_TIMEOUT: '2', CONSOLE_THROTTLE_LINES: '100', CONSOLE_THROTTLE_PERIOD_MS: '100' })
  const key = env.admin.clientKey

  await t.test('a crash while running becomes offline with a notice', async (t) => {
    const s = await env.server({ environment: { DEMO_BOOT_MS: '10', DEMO_TICK_MS: '0', DEMO_CRASH_AFTER_MS: '50' } })
    const { client } = await env.connect(s.uuid, key)
    client.send('set state', 'start')
    await client.status('running')
    await client.line('---------- Detected server process in a crashed state! ----------')
    await client.line('Exit code: 1')
    await client.line('Out of memory: false')
    await client.status('offline')
    // The desired state is persisted in the background after the crash is announced.
    let desired = ''
    for (let i = 0; i < 200 && desired !== 'offline'; i++) {
      desired = (await env.app.prisma.server.findUniqueOrThrow({ where: { uuid: s.uuid } })).desiredState
      if (desired !== 'offline') await new Promise((r) => setTimeout(r, 25))
    }
    t.equal(desired, 'offline', 'a crashed server is not restarted at the next boot')
    await client.end()
  })

  await t.test('exceeding the memory limit kills the process tree', async (t) => {
    const s = await env.server({ limits: { memory: 120 }, environment: { DEMO_BOOT_MS: '10', DEMO_TICK_MS: '0', DEMO_ALLOC_MB: '300' } })
    const { client } = await env.connect(s.uuid, key)
    client.send('set state', 'start')
    await client.line(/exceeding the assigned memory limit/)
    await client.line('Out of memory: true')
    await client.status('offline')
    const limit = JSON.parse((await client.next('stats')).args![0]!).memory_limit_bytes
    t.equal(limit, 120 * 1024 * 1024)
    await client.end()
  })

  await t.test('a flooding server is throttled with one notice per episode', async (t) => {
    const s = await env.server({ environment: { DEMO_BOOT_MS: '10', DEMO_TICK_MS: '0', DEMO_FLOOD: '20000' } })
    const { client } = await env.connect(s.uuid, key)
    client.send('set state', 'start')
    await client.line('Server is outputting console data too quickly -- throttling...')
    // Ask until the answer gets through (the throttle window is 100 ms).
    for (;;) {
      client.send('send command', 'list')
      try {
        await client.line('players online', 1000)
        break
      } catch {
        /* still throttled: ask again */
      }
    }
    const lines = client.frames.filter((f) => f.event === 'console output').map((f) => f.args![0]!)
    const flood = lines.filter((l) => l.includes('flood line')).length
    const notices = lines.filter((l) => l.includes('Server is outputting console data too quickly -- throttling...')).length
    t.ok(flood < 20000, `output was dropped (${flood} of 20000 delivered)`)
    t.ok(notices >= 1 && notices * 100 <= 20000 - flood, `one notice per episode, not per line (${notices})`)
    client.send('set state', 'kill')
    await client.status('offline')
    await client.end()
  })

  await t.test('one power action at a time; kill always works; stop falls back to kill', async (t) => {
    const s = await env.server({ environment: { DEMO_BOOT_MS: '10', DEMO_TICK_MS: '0', DEMO_IGNORE_STOP: '1' } })
    const { client } = await env.connect(s.uuid, key)
    t.equal((await env.post(`/api/client/servers/${s.uuid}/power`, key, { signal: 'start' })).status, 204)
    await client.status('running')
    t.equal((await env.post(`/api/client/servers/${s.uuid}/power`, key, { signal: 'stop' })).status, 204)
    await client.status('stopping')
    const busy = await env.post(`/api/client/servers/${s.uuid}/power`, key, { signal: 'start' })
    t.equal(busy.status, 409)
    t.equal(busy.body.errors[0].detail, 'another power action is currently being processed for this server, please try again later')
    client.send('set state', 'restart')
    t.match((await client.next('daemon error')).args![0], /^Error Event \[[0-9a-f-]{36}\]: another power action is currently being processed/)
    await client.line(/did not stop within 2 seconds; killing the process/)
    await client.status('offline')

    t.equal((await env.post(`/api/client/servers/${s.uuid}/power`, key, { signal: 'start' })).status, 204)
    await client.status('running')
    t.equal((await env.post(`/api/client/servers/${s.uuid}/power`, key, { signal: 'stop' })).status, 204)
    await client.status('stopping')
    t.equal((await env.post(`/api/client/servers/${s.uuid}/power`, key, { signal: 'kill' })).status, 204, 'kill does not wait for the lock')
    await client.status('offline')
    t.notOk(client.frames.some((f) => f.args?.[0]?.includes('crashed state')), 'asked-for exits are not crashes')
    await client.end()
  })

  await t.test('a signal stop method', async (t) => {
    const s = await env.server({ stop: { type: 'signal', value: 'SIGTERM' } })
    const { client } = await env.connect(s.uuid, key)
    client.send('set state', 'start')
    await client.status('running')
    client.send('set state', 'stop')
    await client.line('Stopping the server')
    await client.status('offline')
    await client.end()
  })
})

t.test('running servers come back after a restart', async (t) => {
  const DATABASE_URL = await freshDatabase(t)
  const first = await setup(t, { DATABASE_URL })
  const s = await first.server()
  const { client } = await first.connect(s.uuid, first.admin.clientKey)
  client.send('set state', 'start')
  await client.status('running')
  await first.app.close()
  await client.closed // (1005 today: @fastify/websocket closes clients before the hub's 1001; see report)
  const second = await build(t, { env: { DATABASE_URL } })
  const res = await second.app.inject({ method: 'GET', url: `/api/application/servers/${s.uuid}`, headers: { authorization: `Bearer ${second.adminKey}` } })
  t.equal(res.statusCode, 200)
  t.equal(res.json().attributes.desired_state, 'running')
  t.ok(['starting', 'running'].includes(res.json().attributes.state), 'restarted at boot')
})

t.test('a running game is measured when its figures are asked for, not only on the stats timer', async (t) => {
  // The timer never fires during this test: only the pass at start and the asks themselves measure.
  const env = await setup(t, { STATS_INTERVAL_MS: '60000' })
  const key = env.admin.clientKey
  const s = await env.server({ environment: { DEMO_BOOT_MS: '10', DEMO_TICK_MS: '0' } })
  const { client } = await env.connect(s.uuid, key)
  client.send('set state', 'start')
  await client.status('running')
  client.send('send stats')
  const stats = JSON.parse((await client.next('stats')).args![0]!)
  t.equal(stats.state, 'running')
  t.ok(stats.memory_bytes > 0, `\`send stats\` reports the memory of the game's process tree (${stats.memory_bytes} bytes)`)
  const resources = await env.get(`/api/client/servers/${s.identifier}/resources`, key)
  t.equal(resources.status, 200)
  t.ok(resources.body.attributes.resources.memory_bytes > 0, 'so does the resources endpoint')
  client.send('set state', 'kill')
  await client.status('offline')
  await client.end()
})
