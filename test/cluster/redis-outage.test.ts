/**
 * Redis dies and comes back mid-stream. Two instances share a database and a redis-server the
 * test starts on its own port; each ingests its own device's readings and every subscriber
 * listens to both devices. While Redis is down each instance goes on serving its own
 * subscribers (nothing ingested locally is lost), accepts new sockets, reports Redis down on
 * /ready (still 200: `degraded`) and /metrics, and nothing crashes. Once Redis is back on the
 * same port (empty), cross-instance delivery resumes, /ready is ok again, and the per-user
 * connection slots are written back, including the one taken during the outage.
 */
import t from 'tap'
import { build, freshDatabase } from '../helper.js'
import { createDevice, createUser, type Client } from '../channels/support.js'
import {
  TelemetryStream,
  TestRedis,
  clusterEnv,
  gaps,
  http,
  metric,
  openChannel,
  subscriber,
  trackRejections,
  values,
  type Instance,
} from './support.js'
import { until } from '../wait.js'

t.test('a Redis outage: local delivery goes on, cross-instance delivery resumes after the restart', async (t) => {
  const rejections = trackRejections(t)
  const redis = await TestRedis.start(t)
  const env = clusterEnv(await freshDatabase(t), { REDIS_URL: redis.url, REDIS_NODE_TTL: '3' })
  const a = await build(t, { listen: true, env: { ...env, NODE_NAME: `out-a-${process.pid}` } })
  const b = await build(t, { listen: true, env: { ...env, NODE_NAME: `out-b-${process.pid}` } })
  const user = await createUser(a)
  const devA = await createDevice(a, user.key)
  const devB = await createDevice(a, user.key)

  const subscribeBoth = async (inst: Instance): Promise<Client> => {
    const cl = await subscriber(t, inst, user.key, devA.id, ['temperature'])
    const r = await cl.request({ type: 'subscribe', channel: 'telemetry', device_id: devB.id, filters: { metrics: ['temperature'] } }, 'subscribed')
    if (r.type !== 'subscribed') throw new Error(JSON.stringify(r))
    return cl
  }
  const onA = [await subscribeBoth(a), await subscribeBoth(a)]
  const onB = [await subscribeBoth(b), await subscribeBoth(b)]
  const streamA = new TelemetryStream(a, devA.id, devA.deviceKey, 'temperature')
  const streamB = new TelemetryStream(b, devB.id, devB.deviceKey, 'temperature')
  t.teardown(() => Promise.all([streamA.stop(), streamB.stop()]))
  const beyond = (cl: Client, dev: number, n: number) => (values(cl, 'temperature', dev).at(-1) ?? 0) > n
  const all = [...onA, ...onB]
  await until(() => all.every((cl) => beyond(cl, devA.id, 3) && beyond(cl, devB.id, 3)), 'both streams on every socket, across instances')
  const slots = `wh:slots:channels:user:${user.id}`
  t.equal(await redis.client().zcard(slots), 4, 'four sockets, four cluster-wide slots')

  const readiness = async (inst: Instance) => {
    const ready = await http(inst, null, 'GET', '/ready')
    const metrics = await http(inst, null, 'GET', '/metrics')
    return { status: ready.status, body: ready.body, up: metric(metrics.text, 'wirehub_redis_up') }
  }
  for (const inst of [a, b]) t.match(await readiness(inst), { status: 200, body: { status: 'ok', checks: { database: 'ok', redis: 'ok' } }, up: 1 })

  // --- Redis goes away.
  await redis.stop()
  for (const [name, inst] of [['A', a], ['B', b]] as const) {
    const seen = await until(async () => {
      const r = await readiness(inst)
      return r.body?.checks?.redis === 'unavailable' && r.up === 0 ? r : null
    }, `${name} to report Redis down`)
    t.match(seen, { status: 200, body: { status: 'degraded', checks: { database: 'ok', redis: 'unavailable' } }, up: 0 }, `${name}: /ready degraded (still 200), wirehub_redis_up 0`)
  }
  const downAt = { a: streamA.last, b: streamB.last }
  await until(() => onA.every((cl) => beyond(cl, devA.id, downAt.a + 10)) && onB.every((cl) => beyond(cl, devB.id, downAt.b + 10)), 'local delivery during the outage')
  t.pass("each instance's subscribers go on receiving what that instance ingests")
  // A new socket during the outage: the slot is decided locally.
  const { client: lateOnA, auth } = await openChannel(a, user.key)
  t.teardown(() => lateOnA.ws.terminate())
  t.equal(auth.success, true, 'a socket opened during the outage is authenticated')
  const crossed = { toA: onA.map((cl) => values(cl, 'temperature', devB.id).at(-1) ?? 0), toB: onB.map((cl) => values(cl, 'temperature', devA.id).at(-1) ?? 0) }
  t.ok(
    crossed.toA.every((n) => n <= downAt.b) && crossed.toB.every((n) => n <= downAt.a),
    "nothing ingested after the outage was noticed crossed instances (it could not: there was no Redis)",
  )

  // --- Redis is back, empty.
  await redis.restart()
  const backAt = { a: streamA.last, b: streamB.last }
  for (const [name, inst] of [['A', a], ['B', b]] as const) {
    const seen = await until(async () => {
      const r = await readiness(inst)
      return r.body?.status === 'ok' && r.up === 1 ? r : null
    }, `${name} to report Redis back`)
    t.match(seen, { status: 200, body: { checks: { redis: 'ok' } }, up: 1 }, `${name}: /ready ok and wirehub_redis_up 1 again`)
  }
  await until(() => onA.every((cl) => beyond(cl, devB.id, backAt.b)) && onB.every((cl) => beyond(cl, devA.id, backAt.a)), 'cross-instance delivery after the restart')
  t.pass('readings cross instances again')
  await until(async () => (await redis.client().zcard(slots)) === 5, 'the slots to be written back to the empty Redis')
  t.pass('the five open sockets hold five cluster-wide slots again (one taken during the outage)')

  const lastA = await streamA.stop()
  const lastB = await streamB.stop()
  t.same([...streamA.failures, ...streamB.failures], [], 'every ingestion succeeded, during the outage too')
  await until(() => onA.every((cl) => values(cl, 'temperature', devA.id).at(-1) === lastA) && onB.every((cl) => values(cl, 'temperature', devB.id).at(-1) === lastB), 'the last local readings')
  for (const [name, list, dev] of [['A', onA, devA.id], ['B', onB, devB.id]] as const) {
    list.forEach((cl, i) => {
      const seen = values(cl, 'temperature', dev)
      t.same(gaps(seen), [], `${name}'s client ${i} got every reading ${name} ingested (#${seen[0]}..#${seen.at(-1)}), once, in order, through the outage`)
    })
  }
  for (const inst of [a, b]) t.equal((await http(inst, null, 'GET', '/health')).status, 200)
  t.same(rejections, [], 'no unhandled rejection')
})
