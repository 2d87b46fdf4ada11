/**
 * An instance dies mid-stream. Three instances share one database and the real Redis: A is a
 * real child process, B and C run in this process. Channel subscribers on A, B and C receive
 * telemetry ingested through B, and alerts. A is SIGKILLed while the stream runs. A's clients
 * see their sockets closed; B's and C's clients keep receiving every reading; A's game server
 * is reported unreachable (502 naming the node) instead of a socket address that cannot work;
 * the per-user connection slots A held expire within REDIS_NODE_TTL, after which A's clients
 * reconnect to B with a token from B, resubscribe, and catch up on the alerts raised while they
 * were away through `GET /api/client/alerts?since=`, each exactly once.
 */
import t from 'tap'
import { build, freshDatabase } from '../helper.js'
import { api, createDevice, createUser, type Client } from '../channels/support.js'
import {
  SHARED_REDIS_URL,
  TelemetryStream,
  alertIds,
  clusterEnv,
  gaps,
  http,
  openChannel,
  startChild,
  subscribe,
  subscriber,
  trackRejections,
  uniquePrefix,
  values,
  type Instance,
} from './support.js'
import { sleep, until, within } from '../wait.js'
import { Redis } from 'ioredis'

/** REDIS_NODE_TTL for this test, seconds: A's slots must be free this long after its death. */
const TTL = 4
/** Channel sockets per user, cluster-wide: A's two dead slots block A's clients until they expire. */
const PER_USER = 4

t.test('an instance killed mid-stream: the others go on, its clients fail over and catch up', async (t) => {
  const rejections = trackRejections(t)
  const prefix = uniquePrefix('failover')
  const env = clusterEnv(await freshDatabase(t), {
    REDIS_URL: SHARED_REDIS_URL,
    REDIS_PREFIX: prefix,
    REDIS_NODE_TTL: String(TTL),
    WS_MAX_CONNECTIONS_PER_USER: String(PER_USER),
  })
  const nodeA = `fo-a-${process.pid}`
  const b = await build(t, { listen: true, env: { ...env, NODE_NAME: `fo-b-${process.pid}` } })
  const [a, c] = await Promise.all([
    startChild(t, { ...env, NODE_NAME: nodeA }),
    build(t, { listen: true, env: { ...env, NODE_NAME: `fo-c-${process.pid}` } }),
  ])
  const redis = new Redis(SHARED_REDIS_URL)
  t.teardown(() => redis.disconnect())
  const aInfo = await until(async () => {
    const raw = await redis.get(`${prefix}node:${nodeA}`)
    return raw && (await b.app.cluster.nodeUrl(nodeA)) === a.url ? (JSON.parse(raw) as { instanceId: string }) : null
  }, 'B to see A alive')

  const user = await createUser(b, { admin: false })
  const device = await createDevice(b, user.key)
  const rule = await api(b, user.key, 'POST', `/api/client/devices/${device.id}/alert-rules`, {
    metric: 'pressure',
    operator: '>',
    threshold: 100,
    severity: 'critical',
    cooldown: 0,
  })
  t.equal(rule.status, 201, JSON.stringify(rule.body))
  // A game server owned by A's node (created through A).
  const admin = await createUser(b, { admin: true })
  const created = await http(a, b.adminKey, 'POST', '/api/application/servers', {
    name: 'on-a',
    user: admin.id,
    command: process.execPath,
    args: ['-e', "console.log('Done'); setInterval(() => {}, 1000)"],
    done_pattern: 'Done',
  })
  t.equal(created.status, 201, created.text)
  const serverUuid = created.body!.attributes.uuid as string
  const credBefore = await api(b, admin.key, 'GET', `/api/client/servers/${serverUuid}/websocket`)
  t.equal(new URL(String(credBefore.body!.data.socket).replace(/^ws/, 'http')).origin, a.url, "while A lives, the credential names A's socket")

  const onA = [await subscriber(t, a, user.key, device.id, ['temperature']), await subscriber(t, a, user.key, device.id, ['temperature'])]
  const onB = await subscriber(t, b, user.key, device.id, ['temperature'])
  const onC = await subscriber(t, c, user.key, device.id, ['temperature'])
  const everyone = [...onA, onB, onC]
  const slotKey = `${prefix}slots:channels:user:${user.id}`
  const aHolders = async () => (await redis.zrange(slotKey, 0, -1, 'WITHSCORES')).filter((_, i, all) => i % 2 === 0 && all[i]!.startsWith(`${aInfo.instanceId}:`))
  t.equal((await aHolders()).length, 2, "A's two sockets hold two of the user's cluster-wide slots")

  // Readings stream in through B for the whole test; every subscriber sees them (A and C through Redis).
  const stream = new TelemetryStream(b, device.id, device.deviceKey, 'temperature')
  t.teardown(() => stream.stop())
  await until(() => everyone.every((cl) => values(cl, 'temperature').length >= 3), 'the stream to reach every subscriber')

  const raise = async (value: number) => {
    const breach = await http(b, device.deviceKey, 'POST', `/api/devices/${device.id}/telemetry`, { telemetry: { pressure: { value } } })
    const clear = await http(b, device.deviceKey, 'POST', `/api/devices/${device.id}/telemetry`, { telemetry: { pressure: { value: 0 } } })
    t.same([breach.status, clear.status], [201, 201], 'breach and clear ingested')
  }
  const storedAlerts = async () =>
    ((await api(b, user.key, 'GET', `/api/client/alerts?device_id=${device.id}&since=0`)).body!.data as Array<{ attributes: { id: number } }>).map((d) => d.attributes.id)

  await raise(150)
  await until(() => everyone.every((cl) => alertIds(cl).length === 1), 'the first alert on every socket')
  const [first] = await storedAlerts()
  const lastSeenOnA = onA.map((cl) => alertIds(cl).at(-1)!)
  t.same(lastSeenOnA, [first, first], "A's clients saw the first alert live")

  // --- A dies.
  const killedAt = Date.now()
  const slotExpiries = (await redis.zrange(slotKey, 0, -1, 'WITHSCORES')).reduce<number[]>((acc, v, i, all) => {
    if (i % 2 === 0 && v.startsWith(`${aInfo.instanceId}:`)) acc.push(Number(all[i + 1]))
    return acc
  }, [])
  a.proc.child.kill('SIGKILL')
  const exit = await a.proc.exited
  t.equal(exit.signal, 'SIGKILL', 'A died of the SIGKILL (it had not crashed before)')
  const closes = await Promise.all(onA.map((cl) => within(cl.closed, 20_000, "A's client sockets to close")))
  t.same(closes.map((cl) => cl.code), [1006, 1006], "A's clients see their sockets closed (abnormally: no close frame from a dead process)")
  t.equal(slotExpiries.length, 2)
  t.ok(slotExpiries.every((at) => at <= killedAt + TTL * 1000), `A's slots expire within REDIS_NODE_TTL (${TTL} s) of its death`)

  // While A's clients are away: two more alerts, delivered live to B and C.
  await raise(160)
  await raise(170)
  await until(() => [onB, onC].every((cl) => alertIds(cl).length === 3), 'alerts 2 and 3 on B and C')
  const missed = (await storedAlerts()).filter((id) => id > first!)
  t.equal(missed.length, 2)

  // A's game server: power fails fast and the credential names the problem instead of hanging.
  const power = await until(async () => {
    const r = await http(b, admin.key, 'POST', `/api/client/servers/${serverUuid}/power`, { signal: 'start' })
    return r.status === 502 ? r : null
  }, 'power routed to dead A to answer 502')
  t.match(power.body!.errors[0].detail, nodeA, 'the power error names the dead node')
  const credStatuses = new Set<number>()
  const cred = await until(async () => {
    const r = await http(b, admin.key, 'GET', `/api/client/servers/${serverUuid}/websocket`)
    credStatuses.add(r.status)
    return r.status === 502 ? r : null
  }, "the credential for A's server to report A unreachable")
  t.same([...credStatuses].filter((s) => s !== 200 && s !== 502), [], 'the credential always answered, 200 or 502')
  t.match(cred.body, { errors: [{ status: '502', detail: new RegExp(`${nodeA}.*not reachable`) }] }, 'a JSON error naming the node')
  t.type(cred.body!.request_id, 'string')

  // A's clients fail over to B: fresh token from B, auth, resubscribe, catch up.
  const refusals: string[] = []
  const reconnected: Client[] = []
  for (let i = 0; i < onA.length; i++) {
    const cl = await until(async () => {
      const { client, auth } = await openChannel(b, user.key)
      if (auth.success === true) return client
      refusals.push(String(auth.error))
      await client.closed
      await sleep(200)
      return null
    }, `client ${i} of A to get a slot on B`, TTL * 1000 + 20_000, 0)
    t.teardown(() => cl.ws.terminate())
    await subscribe(cl, device.id, ['temperature'])
    reconnected.push(cl)
  }
  t.comment(`${refusals.length} reconnect attempt(s) refused before A's slots expired`)
  t.same(refusals.filter((e) => e !== 'too_many_connections'), [], "refused only for lack of a slot while A's were still counted")
  t.same(await aHolders(), [], "no slot of A's is left in Redis")
  t.equal(await redis.zcard(slotKey), PER_USER, 'the user holds exactly their live sockets')

  for (let i = 0; i < reconnected.length; i++) {
    const res = await http(b, user.key, 'GET', `/api/client/alerts?device_id=${device.id}&since=${lastSeenOnA[i]}`)
    t.equal(res.status, 200)
    const caught = (res.body!.data as Array<{ attributes: { id: number } }>).map((d) => d.attributes.id)
    t.same(caught, missed, `client ${i} catches up on exactly the alerts it missed, once each, oldest first`)
  }
  await until(() => reconnected.every((cl) => values(cl, 'temperature').length >= 3), 'the stream on the reconnected sockets')

  // One more alert: live on every socket, including the reconnected ones, once.
  await raise(180)
  const all = await until(async () => {
    const ids = await storedAlerts()
    return ids.length === 4 && [onB, onC, ...reconnected].every((cl) => alertIds(cl).includes(ids[3]!)) ? ids : null
  }, 'the fourth alert everywhere')
  for (let i = 0; i < reconnected.length; i++) {
    t.same([...alertIds(onA[i]!), ...missed, ...alertIds(reconnected[i]!)], all, `A's client ${i}: live, caught up, live again — every alert exactly once`)
  }
  for (const [name, cl] of [['B', onB], ['C', onC]] as const) t.same(alertIds(cl), all, `${name}'s client got every alert live, once`)

  const last = await stream.stop()
  await until(() => [onB, onC, ...reconnected].every((cl) => values(cl, 'temperature').at(-1) === last), 'the last reading everywhere')
  t.same(stream.failures, [], 'every ingestion through B succeeded, before, during and after the kill')
  for (const [name, cl] of [['B', onB], ['C', onC]] as const) {
    const seen = values(cl, 'temperature')
    t.same(gaps(seen), [], `${name}'s client received every reading from #${seen[0]} to #${last} exactly once, in order, through the kill`)
  }
  for (const inst of [b, c] as Instance[]) {
    t.equal((await http(inst, null, 'GET', '/health')).status, 200, `${inst.url} is alive`)
    t.match((await http(inst, null, 'GET', '/ready')).body, { status: 'ok', checks: { redis: 'ok' } })
  }
  t.same(rejections, [], 'no unhandled rejection')
})
