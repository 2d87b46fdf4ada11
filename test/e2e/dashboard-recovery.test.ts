/**
 * Recovery after a wirehub restart, in a real headless Chromium: a console and a device page
 * stay open while the server stops and starts again on the same port and database.
 * - While it is down, neither page claims a live state: the console's badge and the device's
 *   status say "unknown" (never "running"/"online" next to a lost connection).
 * - A device page opened while it is down shows "Device unavailable" with a retry countdown.
 * - Once it is back, both pages recover by themselves: the console reconnects and shows the
 *   server running again, the device page loads, and live telemetry reaches its chart.
 * Screenshots: test-artifacts/recovery-*.png.
 */
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { ADMIN_EMAIL, ADMIN_PASSWORD, build } from '../helper.js'
import { login as apiLogin } from '../http/support.js'
import { login, openBrowser, waitForChartPoints } from './browser.js'

const STATE = '.badge[data-testid=server-state]'
const BACK = { timeout: 45_000 }

t.test('console and device pages recover after a wirehub restart', async (t) => {
  const { app, url, config } = await build(t, { listen: true, env: { DEMO_SERVER: 'true' } })
  const port = Number(new URL(url).port)
  const s = await apiLogin(app, ADMIN_EMAIL, ADMIN_PASSWORD)
  const created = (await app.inject({ method: 'POST', url: '/api/client/devices', cookies: s.cookies, headers: { 'x-csrf-token': s.csrf }, payload: { name: 'Boiler', units: { pressure: 'bar' } } })).json()
  const id = created.attributes.id as number
  const ingest = (value: number) =>
    fetch(`${url}/api/devices/${id}/telemetry`, { method: 'POST', headers: { authorization: `Bearer ${created.meta.device_key}`, 'content-type': 'application/json' }, body: JSON.stringify({ telemetry: { pressure: { value } } }) })
  t.ok((await ingest(1.5)).ok)
  const server = (await app.inject({ url: '/api/client?type=admin', cookies: s.cookies })).json().data[0].attributes.identifier as string

  const one = await openBrowser(t, url, { width: 1366, height: 768 })
  const con = one.page
  await login(con)
  await con.goto(`/#/servers/${server}`)
  await con.waitForSelector('.conn.ok')
  await con.waitForSelector(`${STATE}[data-state=running]`, { timeout: 20_000 })

  const two = await openBrowser(t, url, { width: 390, height: 844 }, one.browser)
  const dev = two.page
  await login(dev)
  await dev.goto(`/#/devices/${id}`)
  await dev.waitForSelector('[data-testid=device-status][data-state=online]')

  // Down.
  await app.close()
  await con.waitForSelector(`${STATE}[data-state=unknown]`, BACK)
  await con.waitForSelector('[data-testid=console-state][data-kind=reconnecting]')
  await dev.waitForSelector('[data-testid=device-status][data-state=unknown]', BACK)
  await one.shot('recovery-01-console-down')
  // A device page opened while wirehub is down: unavailable, retrying.
  await dev.goto('/#/devices')
  await dev.goto(`/#/devices/${id}`)
  await dev.waitForSelector('[data-testid=unavailable] [data-testid=retry-countdown]', BACK)
  t.match(await dev.textContent('[data-testid=unavailable]'), /Device unavailable/)
  await two.shot('recovery-02-device-unavailable')

  // Up again: same database, same port.
  const again = await buildApp(config, { logger: false })
  t.teardown(() => again.close())
  await again.listen({ host: '127.0.0.1', port })

  await con.waitForSelector('.conn.ok', BACK)
  await con.waitForSelector(`${STATE}[data-state=running]`, BACK)
  t.equal(await con.locator('[data-testid=console-state]:not([hidden])').count(), 0, 'no state banner once running again')
  await dev.waitForSelector('[data-testid=device-status]:not([data-state=unknown])', BACK)
  t.equal(await dev.locator('[data-testid=unavailable]').count(), 0, 'the device page recovered by itself')
  await dev.waitForSelector('.live-state.ok', BACK)
  const before = Number((await dev.getAttribute('[data-testid=chart-pressure]', 'data-points')) ?? 0)
  t.ok((await fetch(`http://127.0.0.1:${port}/api/devices/${id}/telemetry`, { method: 'POST', headers: { authorization: `Bearer ${created.meta.device_key}`, 'content-type': 'application/json' }, body: JSON.stringify({ telemetry: { pressure: { value: 2.25 } } }) })).ok)
  await waitForChartPoints(dev, 'chart-pressure', before + 1, 20_000)
  await dev.waitForSelector('[data-testid=device-status][data-state=online]')
  t.match(await dev.textContent('[data-testid=metric-value-pressure]'), /2\.25/, 'live values after the restart')
  await one.shot('recovery-03-console-back')
  await two.shot('recovery-04-device-back')
  t.same(one.errors, [], 'no page errors (console)')
  t.same(two.errors, [], 'no page errors (device)')
})
