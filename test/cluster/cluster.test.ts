/**
 * One suite for both cluster implementations (local and Redis), plus what only the Redis one
 * does: calls routed to another node, slots shared between instances, one claim cluster-wide,
 * node discovery, and domain events relayed between instances.
 */
import t from 'tap'
import pino from 'pino'
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { DomainEvents } from '../../src/lib/domain-events.js'
import { LocalCluster } from '../../src/modules/cluster/local-cluster.js'
import { RedisCluster } from '../../src/modules/cluster/redis-cluster.js'
import { EventBridge } from '../../src/modules/cluster/event-bridge.js'
import { RpcError, type Cluster } from '../../src/modules/cluster/cluster.types.js'

const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const log = pino({ level: 'silent' })

const implementations: Record<string, (node: string) => Cluster> = {
  local: (node) => new LocalCluster(node, () => `http://${node}.test`),
  redis: (node) => new RedisCluster(REDIS, node, () => `http://${node}.test`, log),
}

for (const [name, make] of Object.entries(implementations)) {
  t.test(`${name}: the common contract`, async (t) => {
    const node = `n-${randomUUID().slice(0, 8)}`
    const c = make(node)
    t.teardown(() => c.close())
    const key = `k-${randomUUID()}`
    t.ok(await c.acquire(key, 'a', 2))
    t.ok(await c.acquire(key, 'a', 2), 'the same holder again is not a second slot')
    t.ok(await c.acquire(key, 'b', 2))
    t.notOk(await c.acquire(key, 'c', 2), 'limit reached')
    await c.release(key, 'a')
    t.ok(await c.acquire(key, 'c', 2), 'a released slot is free again')
    const claim = `c-${randomUUID()}`
    t.ok(await c.claim(claim, 5000))
    t.notOk(await c.claim(claim, 5000), 'claimed once')
    c.handle('echo', async (p) => ({ echoed: p }))
    t.same(await c.call(node, 'echo', 42), { echoed: 42 }, 'a call to the own node runs locally')
    await t.rejects(c.call(node, 'nope', null), RpcError)
    t.equal(await c.nodeUrl(node), `http://${node}.test`)
  })
}

t.test('redis: two instances act as one', async (t) => {
  const a = new RedisCluster(REDIS, `a-${randomUUID().slice(0, 6)}`, () => 'http://a.test', log)
  const b = new RedisCluster(REDIS, `b-${randomUUID().slice(0, 6)}`, () => 'http://b.test', log)
  t.teardown(async () => {
    await a.close()
    await b.close()
  })
  b.handle('server.power', async (p) => {
    const { signal } = p as { signal: string }
    if (signal === 'bad') throw Object.assign(new Error('another power action is in progress'), { statusCode: 409 })
    return { done: signal }
  })
  // Wait until b has announced itself and subscribed to its RPC channel.
  let url: string | undefined
  for (let i = 0; i < 200 && !url; i++) {
    url = await a.nodeUrl(b.nodeName)
    if (!url) await new Promise((r) => setTimeout(r, 20))
  }
  t.equal(url, 'http://b.test', 'a finds b')
  let result: unknown
  for (let i = 0; i < 100; i++) {
    try {
      result = await a.call(b.nodeName, 'server.power', { signal: 'start' })
      break
    } catch (err) {
      if ((err as RpcError).code !== 'unreachable') throw err
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  t.same(result, { done: 'start' }, 'a call is routed to b and answered')
  const err = (await a.call(b.nodeName, 'server.power', { signal: 'bad' }).catch((e: unknown) => e)) as RpcError
  t.equal(err.code, 'remote')
  t.equal(err.statusCode, 409, "the remote error's status travels back")
  const gone = (await a.call('no-such-node', 'x', null).catch((e: unknown) => e)) as RpcError
  t.equal(gone.code, 'unreachable', 'a node nobody serves fails fast')

  const key = `slots-${randomUUID()}`
  t.ok(await a.acquire(key, 'conn-a1', 2))
  t.ok(await b.acquire(key, 'conn-b1', 2))
  t.notOk(await a.acquire(key, 'conn-a2', 2), 'the limit is cluster-wide')
  await b.release(key, 'conn-b1')
  t.ok(await a.acquire(key, 'conn-a2', 2))

  const claim = `transition-${randomUUID()}`
  const wins = await Promise.all([a.claim(claim, 5000), b.claim(claim, 5000), a.claim(claim, 5000)])
  t.equal(wins.filter(Boolean).length, 1, 'exactly one instance wins a claim')
})

t.test('redis: a node counts as alive while its entry exists and its RPC channel has a listener', async (t) => {
  // A SIGKILLed process leaves its entry for up to the TTL, but Redis drops its subscriptions at
  // once: the credential endpoint must not send clients to it in the meantime.
  const prefix = `wht-alive-${process.pid}-${randomUUID().slice(0, 6)}:`
  const a = new RedisCluster(REDIS, 'a', () => 'http://a.test', log, { prefix, nodeTtlMs: 3000 })
  const raw = new Redis(REDIS)
  const listener = new Redis(REDIS)
  t.teardown(async () => {
    await a.close()
    raw.disconnect()
    listener.disconnect()
  })
  await raw.set(`${prefix}node:ghost`, JSON.stringify({ url: 'http://ghost.test', instanceId: 'x' }), 'PX', 10_000)
  for (let i = 0; i < 200 && !(await raw.exists(`${prefix}node:a`)); i++) await new Promise((r) => setTimeout(r, 10))
  t.equal(await raw.exists(`${prefix}node:a`), 1, 'keys live under the prefix')
  t.equal(await a.nodeUrl('ghost'), undefined, 'an entry without a listener is a dead node')
  await listener.subscribe(`${prefix}rpc:ghost`)
  t.equal(await a.nodeUrl('ghost'), 'http://ghost.test', 'with its RPC listener it is alive')
  listener.disconnect()
  let url: string | undefined = 'pending'
  for (let i = 0; i < 200 && url; i++) {
    url = await a.nodeUrl('ghost')
    if (url) await new Promise((r) => setTimeout(r, 10))
  }
  t.equal(url, undefined, 'dead again as soon as the listener is gone, long before the entry expires')
  t.ok((await raw.pttl(`${prefix}node:ghost`)) > 0)
})

t.test('redis: domain events are relayed to other instances, once', async (t) => {
  const evA = new DomainEvents()
  const evB = new DomainEvents()
  const bridgeA = new EventBridge(REDIS, evA)
  const bridgeB = new EventBridge(REDIS, evB)
  t.teardown(async () => {
    await bridgeA.close()
    await bridgeB.close()
  })
  await Promise.all([bridgeA.ready(), bridgeB.ready()])
  await new Promise((r) => setTimeout(r, 50))
  const seenOnB: unknown[] = []
  const seenOnA: unknown[] = []
  evB.on('apikey.revoked', (e) => seenOnB.push(e))
  evA.on('apikey.revoked', (e) => seenOnA.push(e))
  const user = { id: 1, uuid: randomUUID(), email: 'x@example.test' }
  evA.emit('apikey.revoked', { user, identifier: 'whc_abcdefghijkl', keyId: 7, keyType: 1, at: new Date() })
  for (let i = 0; i < 200 && seenOnB.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
  await new Promise((r) => setTimeout(r, 50))
  t.equal(seenOnB.length, 1, 'B heard it once')
  t.equal(seenOnA.length, 1, 'A did not hear its own event back')
  t.type((seenOnB[0] as { at: unknown }).at, Date, 'dates survive the trip')
  t.equal((seenOnB[0] as { keyId: number }).keyId, 7)
})
