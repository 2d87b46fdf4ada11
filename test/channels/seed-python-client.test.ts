/**
 * The seed's Python client (`ValtronicsWebSocketClient`, fixtures/seed_client.py: the seed's code
 * with its indentation restored and its usage example's class name fixed), run with Debian's
 * python3 + python3-websockets against a real server: it connects, authenticates (the seed
 * requires `auth_response` success as the first reply), subscribes to telemetry and alerts as in
 * the seed's usage example and listens; fixtures/run_seed_client.py prints each received message
 * as a JSON line. Readings ingested over HTTP with the device key reach it as `telemetry_update`,
 * a rule breach as `alert`.
 *
 * The `websockets` library sends no Origin header, so the server runs with ALLOWED_ORIGINS='*'.
 */
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { api, createDevice, createUser, ingest, iotApp, type Msg } from './support.js'

const RUNNER = fileURLToPath(new URL('./fixtures/run_seed_client.py', import.meta.url))
const INSTALL_HINT = 'the seed Python client test needs python3 with the websockets library: run `apt-get install -y python3-websockets` (Debian; .ci/run installs it)'

/** Debian's python3 first (a pyenv/venv python3 earlier on PATH usually lacks python3-websockets). */
function findPython(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import websockets'], { stdio: 'ignore' })
    if (r.status === 0) return py
  }
  return null
}

t.test("the seed's Python client works as written", async (t) => {
  const python = findPython()
  if (!python) {
    t.fail(INSTALL_HINT)
    return
  }

  const ta = await iotApp(t, { ALLOWED_ORIGINS: '*' })
  const u = await createUser(ta)
  const dev = await createDevice(ta, u.key)
  const other = await createDevice(ta, u.key)
  const rule = await api(ta, u.key, 'POST', `/api/client/devices/${dev.id}/alert-rules`, {
    metric: 'temperature', operator: '>', threshold: 30, severity: 'critical', title: 'High Temperature Alert', message: 'Temperature exceeds safe threshold',
  })
  t.equal(rule.status, 201)
  const { data } = (await api(ta, u.key, 'GET', '/api/client/websocket')).body!
  t.match(data.socket, /^ws:\/\/127\.0\.0\.1:\d+\/ws$/)

  const child = spawn(python, ['-u', '-B', RUNNER, data.socket, data.token, String(dev.id)], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = once(child, 'exit')
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await exited
    }
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))

  // Every stdout line: the seed's own prints, and a JSON line per received message.
  const text: string[] = []
  const messages: Msg[] = []
  const waiters = new Set<() => void>()
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('{')) messages.push(JSON.parse(line) as Msg)
    else text.push(line)
    for (const w of waiters) w()
  })
  child.on('exit', () => {
    for (const w of waiters) w()
  })

  /** Resolves when `pred` holds over what the client printed; fails if the process exits first. */
  function until<T>(what: string, pred: () => T | undefined, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`timed out waiting for ${what}; printed: ${JSON.stringify(text)}, messages: ${JSON.stringify(messages)}, stderr: ${stderr}`)), timeoutMs)
      const finish = (err?: Error, value?: T) => {
        clearTimeout(timer)
        waiters.delete(check)
        if (err) reject(err)
        else resolve(value as T)
      }
      const check = () => {
        const v = pred()
        if (v !== undefined && v !== false) return finish(undefined, v)
        if (child.exitCode !== null || child.signalCode !== null) finish(new Error(`the Python client exited (${child.exitCode ?? child.signalCode}) while waiting for ${what}; printed: ${JSON.stringify(text)}, stderr: ${stderr}`))
      }
      waiters.add(check)
      check()
    })
  }
  const message = (type: string, pred: (m: Msg) => boolean = () => true) => until(type, () => messages.find((m) => m.type === type && pred(m)))
  const printed = (re: RegExp) => until(String(re), () => text.find((l) => re.test(l)))

  await printed(/^Authentication successful$/)
  await printed(/^WebSocket connected successfully$/)
  // Subscriptions are acknowledged in order; once both are in, readings reach the client.
  await message('subscribed', (m) => m.channel === 'telemetry')
  await message('subscribed', (m) => m.channel === 'alerts')
  t.same(text.filter((l) => l.startsWith('Subscribed to')), ['Subscribed to telemetry', 'Subscribed to alerts', 'Subscribed to devices'])

  // A reading under the threshold, one for another device (filtered out), then a breach.
  t.equal((await ingest(ta, other.id, other.deviceKey, { telemetry: { temperature: { value: 99, unit: '°C' } } })).status, 201)
  t.equal((await ingest(ta, dev.id, dev.deviceKey, { telemetry: { temperature: { value: 23.5, unit: '°C', timestamp: '2024-01-01T12:00:00Z' } } })).status, 201)
  const update = await message('telemetry_update')
  t.match(update, { type: 'telemetry_update', channel: 'telemetry', device_id: dev.id, telemetry: { temperature: { value: 23.5, unit: '°C', timestamp: '2024-01-01T12:00:00.000Z' } } })
  await printed(new RegExp(`^Telemetry update for device ${dev.id}: \\{'temperature': \\{'value': 23\\.5, 'unit': '°C'`))

  t.equal((await ingest(ta, dev.id, dev.deviceKey, { telemetry: { temperature: { value: 32.5, unit: '°C' } } })).status, 201)
  const alert = await message('alert')
  t.match(alert, {
    type: 'alert', channel: 'alerts', alert_id: Number, device_id: dev.id, severity: 'critical', alert_type: String,
    title: 'High Temperature Alert', message: 'Temperature exceeds safe threshold', timestamp: String,
    metadata: { threshold_value: 30, actual_value: 32.5 },
  })
  await printed(new RegExp(`^Alert \\[critical\\]: High Temperature Alert \\(ID: ${alert.alert_id}\\)$`))
  await message('telemetry_update', (m) => m.telemetry?.temperature?.value === 32.5)
  t.same(messages.filter((m) => m.type === 'telemetry_update').map((m) => m.device_id), [dev.id, dev.id], 'only the subscribed device')
  t.same(messages.filter((m) => m.type === 'alert').length, 1, 'one alert for one breach')
  t.notOk(messages.some((m) => m.type === 'error'), 'no error message')

  child.kill('SIGTERM')
  await exited
})
