/**
 * Telemetry storage: friendlier ingestion bodies (shorthand, flat), refusals naming the field for
 * what PostgreSQL would refuse, one device's bad request never failing another's (the group
 * commit isolates it), rollups that agree with the raw readings, latest values and the learned
 * metric catalogue, and deleting a device taking its telemetry with it.
 */
import t from 'tap'
import { api, createDevice, createUser, ingest, iotApp } from '../channels/support.js'
import { telemetryBuckets } from '../../src/modules/devices/telemetry.history.js'
import { emptyRows } from '../../src/modules/devices/telemetry.writer.js'

const count = async (ta: { app: { db: { query: <R>(sql: string, p?: unknown[]) => Promise<R[]> } } }, sql: string, params: unknown[]) =>
  Number((await ta.app.db.query<{ n: string | number }>(sql, params))[0]!.n)

t.test('ingestion bodies: shorthand and flat forms; refusals name the field', async (t) => {
  const ta = await iotApp(t)
  const u = await createUser(ta)
  const dev = await createDevice(ta, u.key, { units: { humidity: '%' } })

  t.equal((await ingest(ta, dev.id, dev.deviceKey, { telemetry: { temperature: 25, humidity: { value: 40 } } })).status, 201, 'numeric shorthand')
  const flat = await ingest(ta, dev.id, dev.deviceKey, { temperature: 26, humidity: 41, pressure: { value: 1013, unit: 'hPa' } })
  t.equal(flat.status, 201, 'flat ThingsBoard-style body')
  t.same(flat.body.attributes, { device_id: dev.id, readings: 1, stored: 3 })
  t.equal((await ingest(ta, dev.id, dev.deviceKey, { readings: [{ telemetry: { temperature: 27 } }, { timestamp: '2016-12-31T23:59:60Z', telemetry: { temperature: 28 } }] })).status, 201, 'shorthand in a batch, a leap second')

  const hist = await api(ta, u.key, 'GET', `/api/client/devices/${dev.id}/telemetry?metric=temperature&from=2016-12-31T23:59:60Z`)
  t.equal(hist.status, 200, 'a leap second in from= is a valid bound')
  const leap = hist.body!.data.find((d: any) => d.attributes.value === 28)
  t.equal(leap?.attributes.timestamp, '2017-01-01T00:00:00.000Z', 'a leap second is stored as the next second, as PostgreSQL reads it')

  const cases: Array<[unknown, string]> = [
    [{ telemetry: { t: { value: 1, unit: 'a\u0000b' } } }, 'telemetry.t.unit'],
    [{ telemetry: { t: { value: 1, unit: 'x'.repeat(33) } } }, 'telemetry.t.unit'],
    [{ telemetry: { t: { value: 1, timestamp: '0000-01-01T00:00:00Z' } } }, 'telemetry.t.timestamp'],
    [{ telemetry: { t: { value: 1, timestamp: '2023-02-29T00:00:00Z' } } }, 'telemetry.t.timestamp'],
    [{ telemetry: { t: { value: 1, timestamp: '2999-01-01T00:00:00Z' } } }, 'telemetry.t.timestamp'],
    [{ readings: [{ timestamp: '1969-12-31T23:59:59Z', telemetry: { t: 1 } }] }, 'readings.0.timestamp'],
    [{ telemetry: { t: 1.797e308 } }, 'telemetry.t'],
    ['{"telemetry":{"t":1e999}}', 'telemetry.t'],
    ['{"t":-1e999}', 't'],
    [{ t: 'warm' }, 't.value'],
    [{ 'bad name!': 1 }, 'bad name!'],
    [{ t: { value: 1, colour: 'red' } }, 't.colour'],
  ]
  for (const [body, field] of cases) {
    const res = await ingest(ta, dev.id, dev.deviceKey, body)
    t.equal(res.status, 400, `400 for ${typeof body === 'string' ? body : JSON.stringify(body)}`)
    t.equal(res.body.errors?.[0]?.meta?.source_field, field, `names ${field}: ${res.body.errors?.[0]?.detail}`)
  }
  t.equal((await api(ta, u.key, 'GET', `/api/client/devices/${dev.id}/telemetry?from=0000-01-01T00:00:00Z`)).status, 422, 'year 0 in from= is refused, not a 500')
})

t.test("one device's bad request does not fail the others' (group commit isolation)", async (t) => {
  const ta = await iotApp(t)
  const u = await createUser(ta)
  const a = await createDevice(ta, u.key)
  const b = await createDevice(ta, u.key)
  const good = Array.from({ length: 10 }, (_, i) => ingest(ta, a.id, a.deviceKey, { readings: Array.from({ length: 20 }, (_, j) => ({ telemetry: { v: { value: i * 100 + j } } })) }))
  const bad = [
    ingest(ta, b.id, b.deviceKey, { telemetry: { v: { value: 1, unit: '\u0000' } } }),
    ingest(ta, b.id, b.deviceKey, { telemetry: { v: { value: 1, timestamp: '0000-01-01T00:00:00Z' } } }),
  ]
  const results = await Promise.all([...good, ...bad])
  t.same(results.slice(0, 10).map((r) => r.status), Array(10).fill(201), "every one of A's requests is stored")
  t.same(results.slice(10).map((r) => r.status), [400, 400], "B's bad requests get 400")
  t.equal(await count(ta, 'select count(*) as n from telemetry where device_id = $1', [a.id]), 200, "all 200 of A's readings are stored")
  t.equal(await count(ta, 'select count(*) as n from telemetry where device_id = $1', [b.id]), 0)

  // A row PostgreSQL refuses that got past the checks (written to the writer directly): the
  // shared statement fails, the writer retries each request alone, only the bad one fails.
  const writer = ta.app.devices.writer
  const rowsOf = (deviceId: number, value: number, unit: string | null) => {
    const r = emptyRows()
    r.deviceIds.push(deviceId)
    r.readings.push(0)
    r.metrics.push('w')
    r.values.push(value)
    r.units.push(unit)
    r.timestamps.push(new Date().toISOString())
    return r
  }
  const isolationsBefore = writer.stats.isolations
  const writes = [...Array.from({ length: 10 }, (_, i) => writer.write(rowsOf(a.id, i, null), 1)), writer.write(rowsOf(b.id, 1, 'nul\u0000'), 1)]
  const settled = await Promise.allSettled(writes)
  t.same(settled.slice(0, 10).map((s) => s.status), Array(10).fill('fulfilled'), 'the good writes commit')
  t.equal(settled[10]!.status, 'rejected', 'the bad write alone fails')
  t.ok(writer.stats.isolations > isolationsBefore, 'the failing statement was split')
  const offsets = settled.slice(0, 10).map((s) => (s as PromiseFulfilledResult<number>).value)
  t.same([...offsets].sort((x, y) => x - y), Array.from({ length: 10 }, (_, i) => 201 + i), 'offsets continue without a gap or a duplicate')
})

t.test('rollups agree with the raw readings; history uses them by interval', async (t) => {
  const ta = await iotApp(t)
  const u = await createUser(ta)
  const dev = await createDevice(ta, u.key)
  const base = Date.now() - 3 * 3_600_000
  const start = Math.floor(base / 3_600_000) * 3_600_000
  // Three hours of readings every 97 s, sent in batches of varying size and out of order.
  const readings = Array.from({ length: 3 * 3600 / 97 }, (_, i) => ({
    timestamp: new Date(start + i * 97_000).toISOString(),
    telemetry: { temp: Math.round(Math.sin(i / 7) * 1000) / 10, hum: i % 13 },
  }))
  readings.reverse()
  for (let i = 0; i < readings.length; i += 17) {
    t.equal((await ingest(ta, dev.id, dev.deviceKey, { readings: readings.slice(i, i + 17) })).status, 201)
  }
  const from = new Date(start)
  const to = new Date(start + 3 * 3_600_000)
  for (const seconds of [60, 300, 3600, 7200]) {
    const rolled = await telemetryBuckets(ta.app.db, dev.id, { from, to, limit: 10_000, seconds })
    const raw = await telemetryBuckets(ta.app.db, dev.id, { from, to, limit: 10_000, seconds, raw: true })
    t.equal(rolled.length, raw.length, `${seconds}s: same buckets`)
    const close = rolled.every((r, i) => {
      const w = raw[i]!
      return r.metric === w.metric && r.bucket === w.bucket && r.min === w.min && r.max === w.max && r.count === w.count && r.last === w.last && Math.abs(r.avg - w.avg) < 1e-9
    })
    t.ok(close, `${seconds}s: min, max, avg, count and last equal the raw aggregates`)
  }
  const hourly = await api(ta, u.key, 'GET', `/api/client/devices/${dev.id}/telemetry?metric=temp&interval=1h&from=${from.toISOString()}&to=${to.toISOString()}`)
  t.equal(hourly.status, 200)
  t.equal(hourly.body!.data.length, 3, 'three hourly buckets')
  t.equal(hourly.body!.data.reduce((n: number, d: any) => n + d.attributes.count, 0), readings.length)
})

t.test('latest values, the learned catalogue, and a stored huge value', async (t) => {
  const ta = await iotApp(t)
  const u = await createUser(ta)
  const dev = await createDevice(ta, u.key, { units: { hum: 'percent' } })
  await ingest(ta, dev.id, dev.deviceKey, { telemetry: { temp: { value: 20, unit: '°C' }, hum: 40 } })
  await ingest(ta, dev.id, dev.deviceKey, { temp: 21 })
  const latest = await api(ta, u.key, 'GET', `/api/client/devices/${dev.id}/latest`)
  t.equal(latest.status, 200)
  t.same(
    latest.body!.data.map((d: any) => [d.attributes.metric, d.attributes.value, d.attributes.offset]),
    [
      ['hum', 40, 1],
      ['temp', 21, 2],
    ],
  )
  const got = await api(ta, u.key, 'GET', `/api/client/devices/${dev.id}`)
  t.same(got.body!.attributes.units, { temp: '°C', hum: 'percent' }, 'units learned from posts; the owner’s win')
  t.same(got.body!.attributes.metrics.map((m: any) => m.name), ['hum', 'temp'])
  const list = await api(ta, u.key, 'GET', '/api/client/devices')
  t.same(list.body!.data[0].attributes.metrics.map((m: any) => m.name), ['hum', 'temp'], 'the list shows them too')

  // Values stored before ingestion refused them (|v| > 1e300): averages would overflow float8.
  await ta.app.db.query(`insert into telemetry (device_id, seq, metric, value, ts) values ($1, 100, 'big', 1.797e308, now()), ($1, 101, 'big', 1.797e308, now())`, [dev.id])
  const buckets = await api(ta, u.key, 'GET', `/api/client/devices/${dev.id}/telemetry?metric=big&interval=30s`)
  t.equal(buckets.status, 200, 'an overflowing average is computed, not a 500')
  t.equal(buckets.body!.data[0]?.attributes.avg, 1.797e308)
})

t.test('deleting a device removes its telemetry, rollups and catalogue', async (t) => {
  const ta = await iotApp(t)
  const u = await createUser(ta)
  const dev = await createDevice(ta, u.key)
  const other = await createDevice(ta, u.key)
  await ingest(ta, dev.id, dev.deviceKey, { readings: [{ telemetry: { a: 1, b: 2 } }, { telemetry: { a: 3 } }] })
  await ingest(ta, other.id, other.deviceKey, { a: 1 })
  t.equal((await api(ta, u.key, 'DELETE', `/api/client/devices/${dev.id}`)).status, 204)
  for (const table of ['telemetry', 'telemetry_1m', 'telemetry_1h', 'device_metrics']) {
    t.equal(await count(ta, `select count(*) as n from ${table} where device_id = $1`, [dev.id]), 0, `${table}: the device's rows are gone`)
    t.equal(await count(ta, `select count(*) as n from ${table} where device_id = $1`, [other.id]), 1, `${table}: another device's rows stay`)
  }
})
