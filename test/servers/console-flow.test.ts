/**
 * The end-to-end console flow against a real demo process and a real socket: credentials →
 * connect with Origin → auth → status → start → console through "Done" → running → command
 * echoed → `send logs` history → stats shape → stop → offline; then the same server through the
 * Client API (list, show, resources, power, command, activity).
 */
import t from 'tap'
import { setup } from './console-helpers.js'

t.test('console flow over a real socket and the client API', async (t) => {
  const env = await setup(t)
  const server = await env.server({ name: 'flow' })
  const key = env.admin.clientKey

  const creds = await env.credentials(server.uuid, key)
  t.equal(creds.socket, `${env.url.replace(/^http/, 'ws')}/api/servers/${server.uuid}/ws`, 'socket address from the public URL')
  const client = await env.open(creds.socket)
  client.send('auth', creds.token)
  t.same(await client.next('auth success'), { event: 'auth success' }, 'auth success has no args, as Wings')
  t.same((await client.next('status')).args, ['offline'])
  const offlineStats = JSON.parse((await client.next('stats')).args![0]!)
  t.equal(offlineStats.state, 'offline', 'an offline server gets one stats after auth')

  client.send('set state', 'start')
  await client.status('starting')
  await client.line(/\]: Done \(\d+\.\d{3}s\)! For help, type "help"/)
  await client.status('running')

  client.send('send command', 'say hello from the test')
  await client.line('[Server] hello from the test')

  client.send('send logs', null)
  const replayed = await client.line('Done (')
  t.ok(replayed, '`send logs` replays the history')

  const stats = JSON.parse((await client.next('stats', (f) => JSON.parse(f.args![0]!).state === 'running')).args![0]!)
  t.same(Object.keys(stats).sort(), ['cpu_absolute', 'disk_bytes', 'memory_bytes', 'memory_limit_bytes', 'network', 'state', 'uptime'])
  t.type(stats.memory_bytes, 'number')
  t.ok(stats.memory_bytes > 0, 'memory of the process tree is measured')
  t.same(Object.keys(stats.network).sort(), ['rx_bytes', 'tx_bytes'])
  t.ok(stats.network.rx_bytes > 0 && stats.network.tx_bytes > 0, 'console bytes in and out are counted')
  await client.next('stats') // a second sample: stats keep coming while running

  client.send('set state', 'stop')
  await client.status('stopping')
  await client.status('offline')

  // --- the same server through the client API
  const list = await env.get('/api/client', key)
  t.equal(list.status, 200)
  t.same(list.body.data.map((d: any) => d.attributes.uuid), [server.uuid])
  const shown = await env.get(`/api/client/servers/${server.identifier}`, key)
  t.equal(shown.status, 200, 'the short identifier works')
  t.equal(shown.body.attributes.identifier, server.identifier)
  t.same(shown.body.meta.user_permissions, ['*', 'admin.websocket.errors'])

  const offline = await env.post(`/api/client/servers/${server.uuid}/command`, key, { command: 'list' })
  t.equal(offline.status, 502)
  t.equal(offline.body.errors[0].detail, 'Server must be online in order to send commands.')
  t.equal(offline.body.errors[0].code, 'HttpException')

  t.equal((await env.post(`/api/client/servers/${server.uuid}/power`, key, { signal: 'start' })).status, 204)
  await client.status('running')
  t.equal((await env.post(`/api/client/servers/${server.uuid}/command`, key, { command: 'list' })).status, 204)
  await client.line('players online: Steve, Alex')

  const res = await env.get(`/api/client/servers/${server.uuid}/resources`, key)
  t.equal(res.status, 200)
  t.equal(res.body.object, 'stats')
  t.equal(res.body.attributes.current_state, 'running')

  t.equal((await env.post(`/api/client/servers/${server.uuid}/power`, key, { signal: 'kill' })).status, 204)
  await client.status('offline')

  const activity = await env.get(`/api/client/servers/${server.uuid}/activity`, key)
  t.equal(activity.status, 200)
  const events = activity.body.data.map((d: any) => d.attributes.event)
  t.same(events, ['server:power.kill', 'server:console.command', 'server:power.start', 'server:power.stop', 'server:console.command', 'server:power.start'])
  const cmd = activity.body.data.find((d: any) => d.attributes.event === 'server:console.command').attributes
  t.same(cmd.properties, { command: 'list' })
  t.equal(cmd.is_api, true)
  t.equal(cmd.relationships.actor.attributes.id, env.admin.id)
})
