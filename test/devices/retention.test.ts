/**
 * Partition maintenance and retention, on PostgreSQL and on embedded PGlite: partitions exist
 * from today to TELEMETRY_PARTITIONS_AHEAD days ahead; whole days past the longest retention are
 * dropped (not deleted row by row); back-filled rows in the default partition, rollups, and the
 * rows of devices with a shorter override go by DELETE; a device override longer than the
 * global retention keeps its days; status events and resolved alerts get their retention too.
 */
import t, { type Test } from 'tap'
import { build, type TestApp } from '../helper.js'
import { api, createDevice, createUser, ingest } from '../channels/support.js'
import { partitionName } from '../../src/modules/devices/telemetry.retention.js'

const DAY = 86_400_000

async function rows<R>(ta: TestApp, sql: string, params: unknown[] = []): Promise<R[]> {
  return ta.app.db.query<R>(sql, params)
}
const n = async (ta: TestApp, sql: string, params: unknown[] = []) => Number((await rows<{ n: string | number }>(ta, sql, params))[0]!.n)

async function suite(t: Test, embedded: boolean) {
  const ta = await build(t, { embedded, listen: true, env: { TELEMETRY_RETENTION: '30', TELEMETRY_PARTITIONS_AHEAD: '2', DEVICE_EVENTS_RETENTION: '7', RESOLVED_ALERTS_RETENTION: '7', RATE_LIMIT_MAX: '100000' } })
  const retention = ta.app.devices.retention
  const now = Date.now()
  const today = Math.floor(now / DAY) * DAY

  const parts = await retention.partitions()
  for (let d = 0; d <= 2; d++) t.ok(parts.includes(partitionName(today + d * DAY)), `partition for today + ${d} exists`)
  t.ok(parts.includes('telemetry_default'), 'and the default partition')

  const u = await createUser(ta)
  const a = await createDevice(ta, u.key)
  const b = await createDevice(ta, u.key)
  t.equal((await ingest(ta, a.id, a.deviceKey, { v: 1 })).status, 201)
  t.equal((await ingest(ta, b.id, b.deviceKey, { v: 1 })).status, 201)

  // An old day with its own partition (as wirehub created it 40 days ago), rows in it, and
  // back-filled rows in the default partition.
  const oldDay = today - 40 * DAY
  const oldName = partitionName(oldDay)
  await rows(ta, `create table "${oldName}" partition of telemetry for values from ('${new Date(oldDay).toISOString()}') to ('${new Date(oldDay + DAY).toISOString()}')`)
  const insert = `insert into telemetry (device_id, seq, metric, value, ts) select $1, 1000 + g, 'v', g, $2::timestamptz from generate_series(1, 50) g`
  await rows(ta, insert, [a.id, new Date(oldDay + 3_600_000).toISOString()])
  await rows(ta, insert, [a.id, new Date(now - 45 * DAY).toISOString()]) // default partition, past retention
  await rows(ta, insert, [a.id, new Date(now - 10 * DAY).toISOString()]) // default partition, kept
  await rows(ta, insert, [b.id, new Date(now - 2 * DAY).toISOString()]) // b: kept until b's override
  await rows(ta, `insert into telemetry_1m (device_id, metric, bucket, min, max, sum, count, last, last_ts, last_seq) values ($1, 'v', $2, 1, 1, 1, 1, 1, $2, 1)`, [a.id, new Date(now - 45 * DAY).toISOString()])
  await rows(ta, `insert into device_status_events (device_id, old_status, new_status, created_at) values ($1, 'offline', 'online', $2), ($1, 'online', 'offline', now())`, [a.id, new Date(now - 8 * DAY).toISOString()])
  await rows(ta, `insert into alerts (device_id, severity, alert_type, title, message, status, resolved_at) values ($1, 'info', 't', 'x', 'y', 'resolved', $2), ($1, 'info', 't', 'x', 'y', 'open', null)`, [a.id, new Date(now - 8 * DAY).toISOString()])

  // b keeps one day only.
  t.equal((await api(ta, u.key, 'PATCH', `/api/client/devices/${b.id}`, { telemetry_retention_days: 1 })).body!.attributes.telemetry_retention_days, 1)

  const report = await retention.run()
  t.same(report.dropped, [oldName], 'the day past retention is dropped as a whole partition')
  t.notOk((await retention.partitions()).includes(oldName))
  t.equal(await n(ta, 'select count(*) as n from telemetry where device_id = $1', [a.id]), 51, "a: today's reading and the 10-day-old back-fill remain")
  t.equal(await n(ta, 'select count(*) as n from telemetry where device_id = $1', [b.id]), 1, "b: only today's reading (its 1-day override)")
  t.equal(await n(ta, 'select count(*) as n from telemetry_1m where device_id = $1 and bucket < now() - interval \'30 days\'', [a.id]), 0, 'old rollups deleted')
  t.equal(await n(ta, "select count(*) as n from device_status_events where device_id = $1 and created_at < now() - interval '7 days'", [a.id]), 0, 'old status events deleted')
  t.ok((await n(ta, 'select count(*) as n from device_status_events where device_id = $1', [a.id])) >= 1, 'recent ones kept')
  t.same((await rows<{ status: string }>(ta, 'select status from alerts where device_id = $1', [a.id])).map((r) => r.status), ['open'], 'old resolved alerts deleted, open ones kept')

  // A device that keeps 60 days keeps the days it needs: nothing is dropped for it.
  await api(ta, u.key, 'PATCH', `/api/client/devices/${a.id}`, { telemetry_retention_days: 60 })
  await rows(ta, `create table "${oldName}" partition of telemetry for values from ('${new Date(oldDay).toISOString()}') to ('${new Date(oldDay + DAY).toISOString()}')`)
  await rows(ta, insert, [a.id, new Date(oldDay + 3_600_000).toISOString()])
  await rows(ta, insert, [b.id, new Date(oldDay + 7_200_000).toISOString()])
  const second = await retention.run()
  t.same(second.dropped, [], 'with a 60-day device, the 40-day-old partition stays')
  t.equal(await n(ta, `select count(*) as n from "${oldName}" where device_id = $1`, [a.id]), 50, "a's old readings stay")
  t.equal(await n(ta, `select count(*) as n from "${oldName}" where device_id = $1`, [b.id]), 0, "b's are deleted (shorter retention)")
}

t.test('PostgreSQL', (t) => suite(t, false))
t.test('PGlite', (t) => suite(t, true))
