/**
 * `npx tsx bench/mqtt.ts [--seconds=5] [--devices=1000] [--commands=1000]`: MQTT ingestion
 * against HTTP ingestion in the same run, and the command round trip with many connected
 * devices. Not a test: the numbers depend on the machine and its load.
 *
 * 1. Readings/s durably stored (row-count delta of `telemetry`): HTTP `POST
 *    /api/devices/:id/telemetry` (closed loop, 32 concurrent requests for single readings, 8 for
 *    batches of 100) and MQTT QoS 1 on the embedded broker (10 device connections, each keeping
 *    the same number of un-acknowledged PUBLISHes in flight in total), single readings and
 *    batches of 100. A PUBACK means committed, as a 201 does.
 * 2. Command round trip at `--devices` connected MQTT devices (each answers every request at
 *    once): `POST /api/client/devices/:id/commands` sent → `command_update` SUCCEEDED received on
 *    a `/ws` subscriber, `--commands` commands with 20 in flight, p50/p99.
 *
 * Caveat: clients and server share this process (and its core), so the figures are a lower
 * bound and best compared with each other (MQTT vs HTTP of the same run).
 */
import mqtt, { type MqttClient } from 'mqtt'
import pg from 'pg'
import { Pool } from 'undici'
import WebSocket from 'ws'
import { closedLoop, pct, startBenchApp } from './lib/bench-app.js'

const arg = (name: string, def: number) => Number(new RegExp(`--${name}=(\\d+)`).exec(process.argv.join(' '))?.[1] ?? def)
const quick = process.argv.includes('--quick')
const seconds = arg('seconds', quick ? 2 : 5)
const deviceCount = arg('devices', quick ? 100 : 1000)
const commandCount = arg('commands', quick ? 200 : 1000)
const log = (s: string) => process.stdout.write(`${s}\n`)
const fmt = (n: number) => Math.round(n).toLocaleString('en-US')

const reading = () => ({ temperature: { value: 20 + Math.random(), unit: '°C' } })
const bodyOf = (batch: number) => (batch === 1 ? JSON.stringify({ telemetry: reading() }) : JSON.stringify({ readings: Array.from({ length: batch }, () => ({ telemetry: reading() })) }))

async function main() {
  const bench = await startBenchApp({
    env: { DATABASE_POOL_SIZE: '10', MQTT_ENABLED: 'true', MQTT_PORT: '0', MQTT_MESSAGES_PER_SECOND: '1000000' },
    devices: Math.max(10, deviceCount),
  })
  const { app, url, databaseUrl, devices } = bench
  const key = bench.clientKey
  const mqttUrl = `mqtt://127.0.0.1:${app.mqtt.port}`
  const db = new pg.Pool({ connectionString: databaseUrl, max: 4 })
  const count = async () => Number((await db.query('select count(*)::bigint as n from telemetry')).rows[0].n)
  const connect = (d: { id: number; key: string }) =>
    mqtt.connectAsync(mqttUrl, { username: String(d.id), password: d.key, clientId: `bench-${d.id}-${Math.random().toString(36).slice(2, 8)}`, reconnectPeriod: 0, keepalive: 300 })

  // ---------------------------------------------------------------- ingestion
  const http = async (batch: number, concurrency: number) => {
    const pool = new Pool(url, { connections: concurrency })
    const body = bodyOf(batch)
    let i = 0
    const before = await count()
    const r = await closedLoop(seconds * 1000, concurrency, async () => {
      const d = devices[i++ % 10]!
      const res = await pool.request({ method: 'POST', path: `/api/devices/${d.id}/telemetry`, headers: { 'content-type': 'application/json', authorization: `Bearer ${d.key}` }, body })
      await res.body.text()
      if (res.statusCode !== 201) throw new Error(String(res.statusCode))
    })
    await pool.close()
    const rate = ((await count()) - before) / r.elapsed
    log(`| HTTP POST | ${batch} | ${concurrency} requests | ${fmt(rate)} | ${r.failed} |`)
    return rate
  }
  const publishers: MqttClient[] = await Promise.all(devices.slice(0, 10).map(connect))
  const viaMqtt = async (batch: number, inflight: number) => {
    const body = bodyOf(batch)
    const before = await count()
    const r = await closedLoop(seconds * 1000, inflight, async (w) => {
      await publishers[w % publishers.length]!.publishAsync('v1/devices/me/telemetry', body, { qos: 1 })
    })
    const rate = ((await count()) - before) / r.elapsed
    log(`| MQTT QoS 1 | ${batch} | ${inflight} in flight over ${publishers.length} connections | ${fmt(rate)} | ${r.failed} |`)
    return rate
  }
  log(`\nIngestion, ${seconds} s per row (readings/s = rows stored / elapsed)\n`)
  log('| path | readings per message | concurrency | readings/s stored | failed |')
  log('|---|---|---|---|---|')
  const h1 = await http(1, 32)
  const m1 = await viaMqtt(1, 32)
  const h100 = await http(100, 8)
  const m100 = await viaMqtt(100, 8)
  log(`\nMQTT / HTTP: single ${(m1 / h1).toFixed(2)}×, batch of 100 ${(m100 / h100).toFixed(2)}×`)
  await Promise.all(publishers.map((c) => c.endAsync()))

  // ---------------------------------------------------------------- commands
  const fleet = devices.slice(0, deviceCount)
  const clients: MqttClient[] = []
  for (let i = 0; i < fleet.length; i += 50) {
    const batch = await Promise.all(fleet.slice(i, i + 50).map(connect))
    for (const c of batch) {
      c.on('message', (topic, payload) => {
        const id = topic.slice('v1/devices/me/rpc/request/'.length)
        c.publish(`v1/devices/me/rpc/response/${id}`, payload, { qos: 1 })
      })
      await c.subscribeAsync('v1/devices/me/rpc/request/+', { qos: 1 })
    }
    clients.push(...batch)
  }
  const token = (await app.inject({ method: 'GET', url: '/api/client/websocket', headers: { authorization: `Bearer ${key}` } })).json().data.token
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, { headers: { origin: url } })
  const waiting = new Map<number, (at: number) => void>()
  const early = new Map<number, number>()
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject)
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString())
      if (m.type === 'auth_response') ws.send(JSON.stringify({ type: 'subscribe', channel: 'commands' }))
      else if (m.type === 'subscribed') resolve()
      else if (m.type === 'command_update' && m.state === 'SUCCEEDED') {
        const at = performance.now()
        const w = waiting.get(m.command.id)
        if (w) w(at)
        else early.set(m.command.id, at)
      }
    })
    ws.once('open', () => ws.send(JSON.stringify({ type: 'auth', token })))
  })
  const pool = new Pool(url, { connections: 20 })
  const rtts: number[] = []
  let n = 0
  let failed = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (n < commandCount) {
        const d = fleet[n++ % fleet.length]!
        const sent = performance.now()
        const res = await pool.request({ method: 'POST', path: `/api/client/devices/${d.id}/commands`, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ method: 'ping', params: { n } }) })
        const body = (await res.body.json()) as { attributes?: { id: number } }
        const id = body.attributes?.id
        if (res.statusCode !== 201 || id === undefined) {
          failed++
          continue
        }
        const at = early.get(id) ?? (await new Promise<number>((r) => waiting.set(id, r)))
        rtts.push(at - sent)
      }
    }),
  )
  const elapsed = (performance.now() - t0) / 1000
  rtts.sort((a, b) => a - b)
  log(`\nCommand round trip (POST → SUCCEEDED on /ws) with ${fleet.length} connected MQTT devices, 20 in flight:`)
  log(`${rtts.length} commands (${failed} failed) in ${elapsed.toFixed(1)} s (${fmt(rtts.length / elapsed)}/s): p50 ${pct(rtts, 50).toFixed(1)} ms, p99 ${pct(rtts, 99).toFixed(1)} ms`)

  ws.close()
  await pool.close()
  await Promise.all(clients.map((c) => c.endAsync()))
  await db.end()
  await bench.close()
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
