/**
 * The Redis backplane with two hubs (two "instances") and real Redis: cross-instance delivery
 * exactly once, no echo of an instance's own publications, per-topic SUBSCRIBE only while there
 * are local subscribers, and local service through a Redis outage (a Redis started by the test
 * on its own port, stopped and restarted mid-stream).
 */
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'
import pino from 'pino'
import { RedisBroker } from '../../src/modules/realtime/redis-broker.js'
import { rig, until } from './support.js'

const log = pino({ level: 'silent' })
const SHARED = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1')
  await once(srv, 'listening')
  const port = (srv.address() as { port: number }).port
  srv.close()
  return port
}

function startRedis(port: number): ChildProcess {
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
}

async function brokerPair(t: { teardown(fn: () => unknown): void }, url: string) {
  const a = new RedisBroker(url, log)
  const b = new RedisBroker(url, log)
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
  const port = await freePort()
  let redis = startRedis(port)
  t.teardown(() => redis.kill('SIGKILL'))
  const url = `redis://127.0.0.1:${port}`
  const probe = new Redis(url, { retryStrategy: () => 50 })
  probe.on('error', () => {})
  t.teardown(() => probe.disconnect())
  await until(() => probe.status === 'ready', 'test redis up')
  const { a, b, ra, rb } = await brokerPair(t, url)
  const onA = await ra.client()
  const onB = await rb.client()
  ra.hub.subscribe(onA.conn, 'x')
  rb.hub.subscribe(onB.conn, 'x')
  const numsub = async () => Number(((await probe.pubsub('NUMSUB', 'wh:t:x')) as [string, number])[1])
  for (let i = 0; i < 300 && (await numsub()) !== 2; i++) await new Promise((r) => setTimeout(r, 10))

  redis.kill('SIGKILL')
  await once(redis, 'exit')
  await until(() => a.status === 'down' && b.status === 'down', 'outage noticed')
  ra.hub.publish({ topics: ['x'], codec: 'json', payload: { n: 1 }, lane: 'reliable' })
  await until(() => onA.messages.length === 1, 'local delivery during the outage')
  t.equal(onB.messages.length, 0, 'nothing crosses while Redis is down')

  redis = startRedis(port)
  await until(() => a.status === 'ready' && b.status === 'ready', 'reconnected', 15_000)
  for (let i = 0; i < 500 && (await numsub().catch(() => 0)) !== 2; i++) await new Promise((r) => setTimeout(r, 10))
  ra.hub.publish({ topics: ['x'], codec: 'json', payload: { n: 2 }, lane: 'reliable' })
  await until(() => onB.messages.length === 1, 'cross-instance delivery after the restart')
  t.same(onB.messages[0], { n: 2 })
})
