/**
 * The Redis backplane with two hubs (two "instances") and real Redis: cross-instance delivery
 * exactly once, no echo of an instance's own publications, per-topic SUBSCRIBE only while there
 * are local subscribers, and local service through a Redis outage (a Redis started by the test
 * on its own port, stopped and restarted mid-stream; its helper lives in test/cluster/support.ts),
 * and brokers under different REDIS_PREFIX values not hearing each other.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import pino from 'pino'
import { RedisBroker } from '../../src/modules/realtime/redis-broker.js'
import { SHARED_REDIS_URL as SHARED, TestRedis } from '../cluster/support.js'
import { rig } from './support.js'
import { until } from '../wait.js'

const log = pino({ level: 'silent' })

async function brokerPair(t: { teardown(fn: () => unknown): void }, url: string, prefix?: string) {
  const a = new RedisBroker(url, log, prefix ? { prefix } : {})
  const b = new RedisBroker(url, log, prefix ? { prefix } : {})
  const ra = await rig(t, { broker: a })
  const rb = await rig(t, { broker: b })
  await until(() => a.status === 'ready' && b.status === 'ready', 'redis connections')
  return { a, b, ra, rb }
}

t.test('publications reach other instances once, and never echo back', async (t) => {
  const { a, b, ra, rb } = await brokerPair(t, SHARED)
  const onA = await ra.client()
  const onB = await rb.client()
  const topic = `t-${process.pid}-${Date.now()}`
  ra.hub.subscribe(onA.conn, topic)
  rb.hub.subscribe(onB.conn, topic)
  rb.hub.subscribe(onB.conn, `${topic}-user`)
  const probe = new Redis(SHARED)
  t.teardown(() => probe.disconnect())
  await until(() => b.status === 'ready', 'ready')
  // Subscriptions are asynchronous: wait until Redis knows both instances follow the topic.
  for (;;) {
    const [, n] = (await probe.pubsub('NUMSUB', `wh:t:${topic}`)) as [string, number]
    if (Number(n) === 2) break
    await new Promise((r) => setTimeout(r, 10))
  }
  ra.hub.publish({ topics: [topic, `${topic}-user`], codec: 'json', payload: { from: 'A' }, lane: 'reliable' })
  rb.hub.publish({ topics: [topic], codec: 'json', payload: { from: 'B' }, lane: 'reliable' })
  await until(() => onA.messages.length >= 2 && onB.messages.length >= 2, 'cross deliveries')
  await new Promise((r) => setTimeout(r, 100))
  t.same(onA.messages.map((m) => (m as { from: string }).from).sort(), ['A', 'B'], 'A got its own once and B once')
  t.same(onB.messages.map((m) => (m as { from: string }).from).sort(), ['A', 'B'], 'B got A once despite two topics')
  t.ok(a.received >= 1 && b.received >= 1)
})

t.test('an instance subscribes to a topic only while it has local subscribers', async (t) => {
  const { rb } = await brokerPair(t, SHARED)
  const probe = new Redis(SHARED)
  t.teardown(() => probe.disconnect())
  const topic = `follow-${process.pid}-${Date.now()}`
  const numsub = async () => Number(((await probe.pubsub('NUMSUB', `wh:t:${topic}`)) as [string, number])[1])
  t.equal(await numsub(), 0)
  const c = await rb.client()
  const sub = rb.hub.subscribe(c.conn, topic)
  for (let i = 0; i < 200 && (await numsub()) !== 1; i++) await new Promise((r) => setTimeout(r, 10))
  t.equal(await numsub(), 1, 'subscribed with the first local subscriber')
  rb.hub.unsubscribe(sub)
  for (let i = 0; i < 200 && (await numsub()) !== 0; i++) await new Promise((r) => setTimeout(r, 10))
  t.equal(await numsub(), 0, 'unsubscribed with the last')
})

t.test('a Redis outage keeps local delivery going and cross-instance delivery resumes', async (t) => {
  const redis = await TestRedis.start(t)
  const probe = redis.client()
  const { a, b, ra, rb } = await brokerPair(t, redis.url)
  const onA = await ra.client()
  const onB = await rb.client()
  ra.hub.subscribe(onA.conn, 'x')
  rb.hub.subscribe(onB.conn, 'x')
  const numsub = async () => Number(((await probe.pubsub('NUMSUB', 'wh:t:x')) as [string, number])[1])
  for (let i = 0; i < 300 && (await numsub()) !== 2; i++) await new Promise((r) => setTimeout(r, 10))

  await redis.stop()
  await until(() => a.status === 'down' && b.status === 'down', 'outage noticed')
  ra.hub.publish({ topics: ['x'], codec: 'json', payload: { n: 1 }, lane: 'reliable' })
  await until(() => onA.messages.length === 1, 'local delivery during the outage')
  t.equal(onB.messages.length, 0, 'nothing crosses while Redis is down')

  await redis.restart()
  await until(() => a.status === 'ready' && b.status === 'ready', 'reconnected', 15_000)
  for (let i = 0; i < 500 && (await numsub().catch(() => 0)) !== 2; i++) await new Promise((r) => setTimeout(r, 10))
  ra.hub.publish({ topics: ['x'], codec: 'json', payload: { n: 2 }, lane: 'reliable' })
  await until(() => onB.messages.length === 1, 'cross-instance delivery after the restart')
  t.same(onB.messages[0], { n: 2 })
})

t.test('brokers with different REDIS_PREFIX values share a Redis without hearing each other', async (t) => {
  const topic = `prefixed-${process.pid}-${Date.now()}`
  const one = await brokerPair(t, SHARED, `wht-one-${process.pid}:`)
  const two = await brokerPair(t, SHARED, `wht-two-${process.pid}:`)
  const probe = new Redis(SHARED)
  t.teardown(() => probe.disconnect())
  const clients = { oneB: await one.rb.client(), twoA: await two.ra.client(), twoB: await two.rb.client() }
  one.rb.hub.subscribe(clients.oneB.conn, topic)
  two.ra.hub.subscribe(clients.twoA.conn, topic)
  two.rb.hub.subscribe(clients.twoB.conn, topic)
  const numsub = async (channel: string) => Number(((await probe.pubsub('NUMSUB', channel)) as [string, number])[1])
  for (let i = 0; i < 300 && ((await numsub(`wht-one-${process.pid}:t:${topic}`)) !== 1 || (await numsub(`wht-two-${process.pid}:t:${topic}`)) !== 2); i++) {
    await new Promise((r) => setTimeout(r, 10))
  }
  t.equal(await numsub(`wh:t:${topic}`), 0, 'nothing on the default prefix')
  one.ra.hub.publish({ topics: [topic], codec: 'json', payload: { from: 'one' }, lane: 'reliable' })
  two.ra.hub.publish({ topics: [topic], codec: 'json', payload: { from: 'two' }, lane: 'reliable' })
  await until(() => clients.oneB.messages.length >= 1 && clients.twoB.messages.length >= 1, 'deliveries within each deployment')
  await new Promise((r) => setTimeout(r, 100))
  t.same(clients.oneB.messages, [{ from: 'one' }], "deployment one hears only its own publication")
  t.same(clients.twoB.messages, [{ from: 'two' }], 'deployment two hears only its own')
  t.same(clients.twoA.messages, [{ from: 'two' }], 'and the publisher its own, locally, once')
})
