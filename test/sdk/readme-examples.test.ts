/**
 * Every example of packages/client/README.md, taken from the README at test time and run as
 * written against a real wirehub on a real port (readme-support.ts lists the only edits: the
 * base URL, the server id, the import paths, and the variables an example uses without declaring
 * them). Each example is checked for what it says it does: the Node client connects; the
 * browser client (in real Chromium, signed in, same origin) connects with the session cookie;
 * the console streams, starts the server and answers a command sent once it runs; the channels
 * deliver telemetry, a critical alert, device and system status, and a ping; history then live
 * delivers every reading once in order, and resumes from the saved offset; commands reach a
 * device (HTTP long poll) and are answered, and the waiting ones are cancelled; user events
 * deliver a login and echo. Every example also type-checks (strict) as a TypeScript user's code.
 * An example this file does not know fails the test, so a new one gets run too.
 */
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { chromium } from 'playwright-core'
import { DEMO_SERVER_SCRIPT } from '../../src/modules/servers/servers.plugin.js'
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, build, type TapLike } from '../helper.js'
import { CHROMIUM } from '../e2e/browser.js'
import { readmeExamples, runExample, bundleExample, typecheckExamples, recordingConsole, recordingElement, Tape, README_BASE_URL, README_SERVER_ID, type Example } from './readme-support.js'
import { userWithKey } from './support.js'

const examples = readmeExamples()
const KNOWN = ['node', 'browser', 'Console', 'Channels', 'History then live (charts)', 'Device commands', 'User events']

/** The example for a name: the two set-up ones by what they construct, the rest by heading. */
function example(name: string): Example {
  const found = examples.filter((e) =>
    name === 'node' ? /new WirehubClient\(\{/.test(e.code) : name === 'browser' ? /new WirehubClient\(\)/.test(e.code) : e.heading === name && !/new WirehubClient/.test(e.code),
  )
  if (found.length !== 1) throw new Error(`expected one README example for ${name}, found ${found.length}`)
  return found[0]!
}

t.test('the README examples are all known to this test', async (t) => {
  t.ok(examples.length >= KNOWN.length, `${examples.length} examples`)
  const claimed = new Set(KNOWN.map(example))
  for (const e of examples) t.ok(claimed.has(e), `the example under "${e.heading}" is run here`)
  t.match(example('node').code, `'${README_BASE_URL}'`, 'the Node example names the base URL this test replaces')
  t.match(example('Console').code, `'${README_SERVER_ID}'`, 'the console example names the server id this test replaces')
})

t.test('the README examples type-check as a TypeScript user would compile them (strict)', async (t) => {
  t.same(await typecheckExamples(examples), [], 'no compiler error in any example')
})

async function createDevice(app: FastifyInstance, key: string, name: string) {
  const res = await app.inject({ method: 'POST', url: '/api/client/devices', headers: bearer(key), payload: { name } })
  if (res.statusCode !== 201) throw new Error(`create device: ${res.statusCode} ${res.body}`)
  const body = res.json<{ attributes: { id: number }; meta: { device_key: string } }>()
  return { id: body.attributes.id, key: body.meta.device_key }
}

async function post(url: string, key: string, body: unknown): Promise<any> {
  const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  if (res.status >= 300) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`)
  return res.json()
}

t.test('the README examples, run against a real wirehub', async (t) => {
  const { app, url, adminKey } = await build(t, {
    listen: true,
    env: { APPROVED_SOCKET_DOMAINS: JSON.stringify(['^https://trusted\\.example$']), WS_CONNECTIONS_PER_MINUTE: '1000' },
  })
  const user = await userWithKey(app, adminKey, 'readme@example.test')
  // The Node example reads the key from the environment, as it says.
  process.env.WIREHUB_KEY = user.key
  const subs = { baseUrl: url }

  /** `client` as the Node example makes it; closed at teardown. */
  async function nodeClient(tt: TapLike) {
    const { client } = await runExample(tt, example('node'), subs)
    tt.teardown(() => client.close())
    return client
  }

  t.test('Node: the client connects with the key and the base URL\'s origin', async (t) => {
    const client = await nodeClient(t)
    const ch = client.channels()
    await ch.ready()
    t.equal(ch.state, 'ready', 'the channels socket is authenticated')
    t.ok((await ch.ping()) >= 0, 'and answers a ping')
  })

  t.test('browser: same origin, signed in, native WebSocket and the session cookie (Chromium)', async (t) => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'], headless: true })
    t.teardown(() => browser.close())
    const context = await browser.newContext({ baseURL: url })
    const page = await context.newPage()
    const login = await page.request.post('/api/auth/login', { data: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } })
    t.equal(login.status(), 200, 'signed in (the session cookie is in the browser)')
    await page.goto('/health')
    await page.addScriptTag({ type: 'module', content: await bundleExample(example('browser'), subs) })
    await page.waitForFunction(() => (globalThis as Record<string, any>).__wirehubReadmeExample?.result?.client)
    const seen = await page.evaluate(async () => {
      const { client } = (globalThis as Record<string, any>).__wirehubReadmeExample.result
      const ch = client.channels()
      await ch.ready()
      const ms = await ch.ping()
      const state = ch.state as string
      client.close()
      return { state, ms: ms as number }
    })
    t.equal(seen.state, 'ready', 'the channels socket is authenticated by the session')
    t.ok(seen.ms >= 0, 'and answers a ping')
  })

  t.test('Console: stream, start, a command once running, stats', async (t) => {
    const res = await app.inject({
      method: 'POST', url: '/api/application/servers', headers: bearer(adminKey),
      payload: { name: 'readme', user: user.id, command: process.execPath, args: [DEMO_SERVER_SCRIPT], done_pattern: '\\]: Done \\(', stop: { type: 'command', value: 'stop' } },
    })
    t.equal(res.statusCode, 201)
    const server = res.json<{ attributes: { identifier: string } }>().attributes
    const term = new Tape<string>()
    const chart = new Tape<number>()
    const badge = recordingElement()
    const client = await nodeClient(t)
    const { con } = await runExample(t, example('Console'), { ...subs, serverId: server.identifier }, {
      client, term: { write: term.record }, chart: { push: chart.record }, badge: badge.el,
    })
    t.equal(con.state, 'ready', 'the example waited for the socket')
    await badge.texts.until((s) => s === 'offline')
    await badge.texts.until((s) => s === 'running')
    t.ok(badge.texts.entries.indexOf('starting') < badge.texts.entries.indexOf('running'), `status shown: ${badge.texts.entries.join(' → ')}`)
    await term.until((l) => l.includes('Done ('))
    await term.until((l) => l.includes('[Server] hi'))
    t.pass('console lines reach the terminal, the command sent once running among them')
    t.type(await chart.until((v) => typeof v === 'number'), 'number', 'stats reach the chart')
    con.close()
    t.equal(con.state, 'closed')
  })

  t.test('Channels: telemetry, a critical alert, device and system status, ping, unsubscribe', async (t) => {
    const device = await createDevice(app, user.key, 'readme-channels')
    const rule = await app.inject({
      method: 'POST', url: `/api/client/devices/${device.id}/alert-rules`, headers: bearer(user.key),
      payload: { metric: 'temperature', operator: '>', threshold: 30, severity: 'critical', alert_type: 'temperature_high' },
    })
    t.equal(rule.statusCode, 201)
    const chart = new Tape<number | undefined>()
    const toast = new Tape<string>()
    const badge = recordingElement()
    const { console, logs } = recordingConsole()
    const client = await nodeClient(t)
    const { ch, off, ms } = await runExample(t, example('Channels'), subs, { client, deviceId: device.id, chart: { push: chart.record }, toast: toast.record, badge: badge.el, console })
    t.ok(typeof ms === 'number' && ms >= 0, `ping: ${ms} ms`)
    const ingest = (value: number) => post(`${url}/api/devices/${device.id}/telemetry`, device.key, { telemetry: { temperature: value } })
    await ingest(35)
    t.equal(await chart.until(), 35, 'the temperature reaches the chart')
    t.match(await toast.until(), /^critical: /, 'the critical alert reaches the toast')
    t.equal(await badge.texts.until(), 'online', 'the device came online')
    const [, active] = await logs.until((args) => args[0] === 'active connections')
    t.ok(typeof active === 'number' && active >= 1, `system status: ${active} active connections`)
    off()
    await ingest(20)
    await ch.ping() // frames arrive in order: anything published before the pong is here by now
    t.same(chart.entries, [35], 'after off() no more telemetry')
  })

  t.test('History then live: every reading once, in order, then live; resume from the saved offset', async (t) => {
    const device = await createDevice(app, user.key, 'readme-history')
    const ingest = (value: number) => post(`${url}/api/devices/${device.id}/telemetry`, device.key, { telemetry: { temperature: value } })
    for (const v of [1, 2, 3]) await ingest(v)
    const readings = new Tape<{ offset: number; value: number }>()
    const tiles = new Tape<Record<string, { value: number; offset: number }>>()
    const live = new Tape<true>()
    const client = await nodeClient(t)
    const ch = client.channels()
    const { stop, resumeFrom } = await runExample(t, example('History then live (charts)'), subs, {
      ch, deviceId: device.id,
      chart: { append: (offset: number, telemetry: { temperature: { value: number } }) => readings.record({ offset, value: telemetry.temperature.value }) },
      tiles: { set: tiles.record },
      spinner: { hide: () => live.record(true) },
    })
    await live.until()
    t.same(readings.entries, [{ offset: 1, value: 1 }, { offset: 2, value: 2 }, { offset: 3, value: 3 }], 'the history, in offset order')
    t.match((await tiles.until()).temperature, { value: 3, offset: 3 }, 'the snapshot of the latest value')
    await ingest(4)
    t.same(await readings.until((r) => r.offset === 4), { offset: 4, value: 4 }, 'then live')
    t.equal(resumeFrom(), 4, 'resumeFrom() is the last offset delivered')
    const saved = resumeFrom()
    stop()
    await ingest(5)
    await ingest(6)
    const again = new Tape<number>()
    const ready = new Tape<true>()
    ch.streamTelemetry(device.id, { sinceOffset: saved }, { onReading: (r: { offset: number }) => again.record(r.offset), onLive: () => ready.record(true) })
    await ready.until()
    t.same(again.entries, [5, 6], 'resumed with { sinceOffset: saved }: the readings stored meanwhile, once')
  })

  t.test('Device commands: sent, answered by the device, the waiting ones cancelled', async (t) => {
    const device = await createDevice(app, user.key, 'readme-commands')
    const { console, logs } = recordingConsole()
    const client = await nodeClient(t)
    // The device: one long poll (HTTP); it answers once the example's subscription is
    // acknowledged (so the example sees every change), after a second command was queued
    // while it was not polling.
    const subscribed = new Promise<void>((resolve) => {
      const offAck = client.channels().on('subscribed', (a: { channel: string }) => a.channel === 'commands' && (offAck(), resolve()))
    })
    const deviceRun = (async () => {
      const polled = await fetch(`${url}/api/devices/${device.id}/commands?wait=30`, { headers: bearer(device.key) })
      const list = ((await polled.json()) as { data: Array<{ attributes: { id: number; method: string } }> }).data.map((d) => d.attributes)
      const setLed = list.find((c) => c.method === 'setLed')
      if (!setLed) throw new Error(`the device got ${JSON.stringify(list)}`)
      await post(`${url}/api/client/devices/${device.id}/commands`, user.key, { method: 'reboot' })
      await subscribed
      await post(`${url}/api/devices/${device.id}/commands/${setLed.id}`, device.key, { result: { on: true } })
    })()
    const { cmd, done, waiting, off } = await runExample(t, example('Device commands'), subs, { client, deviceId: device.id, console })
    await deviceRun
    t.match(cmd, { method: 'setLed', params: { on: true }, timeout: 120 })
    t.ok(['QUEUED', 'SENT'].includes(cmd.state), `send: ${cmd.state}`)
    t.match(done, { id: cmd.id, state: 'SUCCEEDED', result: { on: true } }, 'result(): the device\'s answer')
    t.same(waiting.map((c: { method: string }) => c.method), ['reboot'], 'list(QUEUED): the command still waiting')
    const reboot = await app.inject({ url: `/api/client/devices/${device.id}/commands/${waiting[0].id}`, headers: bearer(user.key) })
    t.equal(reboot.json().attributes.state, 'CANCELLED', 'and it was cancelled')
    await logs.until((args) => args[0] === 'SUCCEEDED' && args[1] === 'setLed')
    t.pass('subscribe() logged the change to SUCCEEDED')
    off()
  })

  t.test('User events: a login, and echo', async (t) => {
    const { console, logs } = recordingConsole()
    const client = await nodeClient(t)
    const { ue, echoed } = await runExample(t, example('User events'), subs, { client, console })
    t.equal(echoed, 'hello', 'echo() resolves with the echoed message')
    const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } })
    t.equal(login.statusCode, 200)
    t.same(await logs.until((args) => args[0] === 'login'), ['login', ADMIN_EMAIL], 'the login event reaches the handler')
    ue.close()
  })
})
