/**
 * Publisher process: sends publications at a target rate (evenly spaced, over keep-alive undici
 * pools) for a bounded duration, each stamped with its send time (see lib/protocol.ts).
 * Baselines get `POST /publish {device_id, value, ts}` (or `values` for a batch); wirehub gets its real ingestion path,
 * `POST /api/devices/:id/telemetry` with the device key (the readings are persisted).
 * At most `maxInflight` requests are outstanding: a target that cannot keep up shows as a
 * shortfall in `ok` rather than an ever-growing client queue.
 */
import { Pool } from 'undici'
import { watchParent } from '../lib/proc.js'
import { METRIC, nowMs, stamp, type PublishJob, type PublishResult } from '../lib/protocol.js'

watchParent()

const pools = new Map<string, Pool>()
const poolFor = (origin: string) => {
  let p = pools.get(origin)
  if (!p) pools.set(origin, (p = new Pool(origin, { connections: 64, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 15_000, bodyTimeout: 15_000 })))
  return p
}

/**
 * The ingestion body wirehub accepts: one reading `{telemetry: {metric: {value, unit, timestamp}}}`
 * or a batch `{readings: [{telemetry: {...}}, ...]}`.
 */
export function wirehubBody(step: number, batch: number): string {
  const reading = () => ({ [METRIC]: { value: stamp(step), unit: 'ms', timestamp: new Date().toISOString() } })
  if (batch === 1) return JSON.stringify({ telemetry: reading() })
  const readings = []
  for (let i = 0; i < batch; i++) readings.push({ telemetry: reading() })
  return JSON.stringify({ readings })
}

/** The baselines' `POST /publish` body: one value, or `values` for a batch. */
function baselineBody(deviceId: number, step: number, batch: number): string {
  const ts = new Date().toISOString()
  if (batch === 1) return JSON.stringify({ device_id: deviceId, value: stamp(step), ts })
  const values = []
  for (let i = 0; i < batch; i++) values.push(stamp(step))
  return JSON.stringify({ device_id: deviceId, values, ts })
}

async function run(job: PublishJob): Promise<PublishResult> {
  const url = new URL(job.url)
  const pool = poolFor(url.origin)
  const res: PublishResult = { sent: 0, ok: 0, failed: 0, elapsedMs: 0, errors: [] }
  let inflight = 0
  const start = nowMs()
  const fire = () => {
    const dev = job.devices[res.sent % job.devices.length]!
    res.sent++
    inflight++
    const req =
      job.mode === 'baseline'
        ? { path: '/publish', headers: { 'content-type': 'application/json' }, body: baselineBody(dev.id, job.step, job.batch) }
        : { path: `/api/devices/${dev.id}/telemetry`, headers: { 'content-type': 'application/json', authorization: `Bearer ${dev.key}` }, body: wirehubBody(job.step, job.batch) }
    pool
      .request({ method: 'POST', ...req })
      .then(async (r) => {
        if (r.statusCode >= 200 && r.statusCode < 300) {
          res.ok++
          await r.body.dump()
        } else {
          res.failed++
          const text = await r.body.text()
          if (res.errors.length < 3) res.errors.push(`${r.statusCode} ${text.slice(0, 200)}`)
        }
      })
      .catch((e: Error) => {
        res.failed++
        if (res.errors.length < 3) res.errors.push(e.message)
      })
      .finally(() => inflight--)
  }
  const hardDeadline = start + job.durationMs + 30_000
  const planned = Math.ceil((job.durationMs * job.rate) / 1000)
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = nowMs()
      const el = now - start
      if (now > hardDeadline) return resolve()
      // Evenly spaced; after the window, only what was planned and held back by maxInflight.
      const due = Math.min(Math.floor((el * job.rate) / 1000) + 1, planned)
      while (res.sent < due && inflight < job.maxInflight) fire()
      if (res.sent >= planned && inflight === 0) return resolve()
      if (el >= job.durationMs * 1.2 + 1000 && inflight === 0) return resolve() // could not keep up
      setTimeout(tick, el < job.durationMs ? 1 : 2)
    }
    tick()
  })
  res.elapsedMs = nowMs() - start
  return res
}

process.on('message', (m: { cmd: 'run'; job: PublishJob }) => {
  void run(m.job).then((r) => process.send!({ ev: 'published', ...r }))
})
