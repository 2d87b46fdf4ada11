/**
 * REDIS_PREFIX lets two deployments share one Redis. Deployment one (two instances) and
 * deployment two (one instance, even with the same NODE_NAME) each have their own database, so
 * their first user's first device has the same id and the same topic names; on one Redis they
 * must still not hear each other's publications. Every key and channel they create in that
 * Redis (a private one, so nothing else writes there) starts with the deployment's prefix:
 * broker topics, node registry, slots, RPC, the event relay and the rate-limit store.
 */
import t from 'tap'
import { build, freshDatabase, type TestApp } from '../helper.js'
import { createDevice, createUser } from '../channels/support.js'
import { TelemetryStream, TestRedis, clusterEnv, http, subscriber, trackRejections, values } from './support.js'
import { until } from '../wait.js'

t.test('two deployments with different prefixes on one Redis do not see each other', async (t) => {
  const rejections = trackRejections(t)
  const redis = await TestRedis.start(t)
  const p1 = 'deploy-one:'
  const p2 = 'deploy-two/'
  const env1 = clusterEnv(await freshDatabase(t), { REDIS_URL: redis.url, REDIS_PREFIX: p1 })
  const env2 = clusterEnv(await freshDatabase(t), { REDIS_URL: redis.url, REDIS_PREFIX: p2 })
  const one = await build(t, { listen: true, env: { ...env1, NODE_NAME: 'main' } })
  const oneBis = await build(t, { listen: true, env: { ...env1, NODE_NAME: 'second' } })
  const two = await build(t, { listen: true, env: { ...env2, NODE_NAME: 'main' } })

  const setUp = async (app: TestApp) => {
    const user = await createUser(app)
    return { user, device: await createDevice(app, user.key) }
  }
  const d1 = await setUp(one)
  const d2 = await setUp(two)
  t.equal(d1.device.id, d2.device.id, 'both deployments have a device with the same id: the same topic names')

  const onOneBis = await subscriber(t, oneBis, d1.user.key, d1.device.id, ['temperature'])
  const onTwo = await subscriber(t, two, d2.user.key, d2.device.id, ['temperature'])
  // Deployment one streams through its first instance; its second instance hears it over Redis.
  const stream = new TelemetryStream(one, d1.device.id, d1.device.deviceKey, 'temperature')
  t.teardown(() => stream.stop())
  await until(() => values(onOneBis, 'temperature').length >= 20, "deployment one's readings crossing its own instances")
  // Deployment two publishes on the same topic names under its own prefix.
  const own = await http(two, d2.device.deviceKey, 'POST', `/api/devices/${d2.device.id}/telemetry`, { telemetry: { temperature: { value: -1 } } })
  t.equal(own.status, 201)
  await until(() => values(onTwo, 'temperature').includes(-1), "deployment two's own reading")
  await stream.stop()
  t.same(stream.failures, [], 'ingestion went through')
  // Whatever one published had time to arrive: the pong follows every earlier write on two's socket.
  await until(() => values(onOneBis, 'temperature').at(-1) === stream.last, "the last of one's readings at one's second instance")
  await onTwo.quiet()
  t.same(values(onTwo, 'temperature'), [-1], "deployment two's subscriber got only its own reading, none of one's")
  t.notOk(values(onOneBis, 'temperature').includes(-1), "and deployment one's subscriber none of two's")

  const probe = redis.client()
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await probe.scan(cursor, 'COUNT', 1000)
    cursor = next
    keys.push(...batch)
  } while (cursor !== '0')
  const channels = (await probe.pubsub('CHANNELS', '*')) as string[]
  const foreign = [...keys, ...channels].filter((k) => !k.startsWith(p1) && !k.startsWith(p2))
  t.same(foreign, [], 'every key and channel in Redis carries one of the two prefixes')
  for (const p of [p1, p2]) {
    t.ok(keys.includes(`${p}node:main`), `${p}: node registry`)
    t.ok(keys.some((k) => k.startsWith(`${p}slots:`)), `${p}: connection slots`)
    t.ok(keys.some((k) => k.startsWith(`${p}rl:`)), `${p}: rate-limit counters`)
    t.ok(channels.includes(`${p}rpc:main`), `${p}: RPC channel of node main`)
    t.ok(channels.includes(`${p}events`), `${p}: event relay`)
    t.ok(channels.some((c) => c.startsWith(`${p}t:`)), `${p}: broker topics`)
  }
  t.same(rejections, [], 'no unhandled rejection')
})
