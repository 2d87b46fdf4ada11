/**
 * An open socket must not keep its upgrade's HTTP objects alive: @fastify/websocket leaves an
 * 'error' listener closing over the Fastify request and reply, and the TCP socket points at the
 * upgrade's ServerResponse. Held for a socket's whole life, they were most of the gap between
 * wirehub's and bare ws's memory per idle connection (bench/). The hub's Connection releases
 * them; this proves the IncomingMessage is collectable while the socket stays open and working.
 */
import type { EventEmitter } from 'node:events'
import type { IncomingMessage } from 'node:http'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import { authed, createDevice, createUser, ingest, iotApp } from './support.js'
import { sleep } from '../wait.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

t.test('an authenticated, subscribed socket does not retain its upgrade request', async (t) => {
  const ta = await iotApp(t)
  const u = await createUser(ta)
  const dev = await createDevice(ta, u.key)
  const upgrades: Array<WeakRef<IncomingMessage>> = []
  const served: EventEmitter[] = []
  ta.app.websocketServer.on('connection', (ws: EventEmitter, req: IncomingMessage) => {
    upgrades.push(new WeakRef(req))
    served.push(ws)
  })

  const clients = await Promise.all(Array.from({ length: 5 }, () => authed(ta, u.key)))
  for (const c of clients) await c.request({ type: 'subscribe', channel: 'telemetry', device_id: dev.id }, 'subscribed')
  t.equal(upgrades.length, 5, 'five upgrades seen')

  // A WeakRef's target stays alive until the end of the job that dereferenced it, so the
  // collection and the check run in separate turns.
  const alive = () => upgrades.filter((r) => r.deref() !== undefined).length
  for (let i = 0; i < 10; i++) {
    gc()
    await sleep(20)
    if (alive() === 0) break
    await sleep(0)
  }
  t.equal(alive(), 0, 'every upgrade request was collected')
  // Per-socket listeners cost a closure, its context and listener-table room each.
  for (const event of ['message', 'ping', 'pong', 'close']) {
    t.same(served.map((ws) => ws.listenerCount(event)), [0, 0, 0, 0, 0], `no socket holds a ${event} listener`)
  }

  // The sockets still work after their upgrade objects are gone.
  const got = clients.map((c) => c.nextOf('telemetry_update'))
  t.equal((await ingest(ta, dev.id, dev.deviceKey, { telemetry: { temp: { value: 21.5, unit: 'C' } } })).status, 201)
  for (const m of await Promise.all(got)) t.match(m, { type: 'telemetry_update', device_id: dev.id })
  for (const c of clients) c.close()
})
