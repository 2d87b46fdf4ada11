/**
 * A revocation made while Redis is down still reaches the other instances. Three instances share
 * a database and a redis-server of the test's own; each of B and C holds a channel socket (and a
 * cached REST credential) of a client key. Redis is killed, then the key is revoked through A's
 * REST API, so the domain event cannot cross. C (REVOCATION_CHECK_INTERVAL=1) finds the
 * revocation by its periodic re-check while Redis is still down: its socket closes with 4010 and
 * its REST refuses the key. B re-checks only every hour, so it learns of the revocation when Redis
 * comes back (the queued event is replayed and the reconnect triggers a re-check): its socket
 * closes with 4010 and REST refuses the key too. A second key, not revoked, keeps working on
 * every instance throughout.
 */
import t from 'tap'
import { build, freshDatabase } from '../helper.js'
import { createUser } from '../channels/support.js'
import { TestRedis, clusterEnv, http, openChannel, uniquePrefix, type Instance } from './support.js'

t.test('a revocation during a Redis outage closes sockets and evicts caches on every instance', async (t) => {
  const redis = await TestRedis.start(t)
  const env = clusterEnv(await freshDatabase(t), { REDIS_URL: redis.url, REDIS_PREFIX: uniquePrefix('revoke') })
  const a = await build(t, { listen: true, env: { ...env, NODE_NAME: `rv-a-${process.pid}` } })
  const b = await build(t, { listen: true, env: { ...env, NODE_NAME: `rv-b-${process.pid}`, REVOCATION_CHECK_INTERVAL: '3600' } })
  const c = await build(t, { listen: true, env: { ...env, NODE_NAME: `rv-c-${process.pid}`, REVOCATION_CHECK_INTERVAL: '1' } })
  const user = await createUser(a)
  const keep = await http(a, user.key, 'POST', '/api/client/account/api-keys', { description: 'stays' })
  const keepKey = keep.body!.meta.api_key as string
  const doomed = await http(a, user.key, 'POST', '/api/client/account/api-keys', { description: 'revoked during the outage' })
  const doomedKey = doomed.body!.meta.api_key as string
  const doomedId = doomed.body!.attributes.identifier as string

  const open = async (inst: Instance, key: string) => {
    const { client, auth } = await openChannel(inst, key)
    t.teardown(() => client.ws.terminate())
    t.equal(auth.success, true, 'socket authenticated')
    return client
  }
  const onB = await open(b, doomedKey)
  const onC = await open(c, doomedKey)
  const keptOnB = await open(b, keepKey)
  const keptOnC = await open(c, keepKey)
  for (const inst of [b, c]) t.equal((await http(inst, doomedKey, 'GET', '/api/client/account')).status, 200, 'REST accepts the key (now cached)')

  await redis.stop()
  const revokedAt = Date.now()
  t.equal((await http(a, user.key, 'DELETE', `/api/client/account/api-keys/${doomedId}`)).status, 204, 'revoked on A while Redis is down')

  const closedOnC = await onC.closed
  const cAfter = Date.now() - revokedAt
  t.equal(closedOnC.code, 4010, 'C: the socket is closed with 4010 by the periodic re-check')
  t.equal((await http(c, doomedKey, 'GET', '/api/client/account')).status, 401, 'C: REST refuses the key, Redis still down')
  t.equal(await redis.client().ping().catch(() => 'down'), 'down', 'all of that happened with Redis down')
  t.comment(`C closed the revoked socket ${cAfter} ms after the revocation (REVOCATION_CHECK_INTERVAL=1)`)

  await redis.restart()
  const backAt = Date.now()
  const closedOnB = await onB.closed
  t.equal(closedOnB.code, 4010, 'B: the socket is closed with 4010 once Redis is back')
  t.equal((await http(b, doomedKey, 'GET', '/api/client/account')).status, 401, 'B: REST refuses the key')
  t.comment(`B closed the revoked socket ${Date.now() - backAt} ms after Redis came back (REVOCATION_CHECK_INTERVAL=3600)`)

  for (const [name, inst, cl] of [['B', b, keptOnB], ['C', c, keptOnC]] as const) {
    t.equal((await http(inst, keepKey, 'GET', '/api/client/account')).status, 200, `${name}: the other key still works over REST`)
    t.same(await cl.quiet(), [], `${name}: its socket is still open and answering`)
  }
})
