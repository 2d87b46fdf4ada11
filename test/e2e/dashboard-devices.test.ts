/**
 * End to end in a real headless Chromium: create a device in the dashboard, add an alert rule,
 * post readings over HTTP with the device key, watch the live chart update and the alert
 * appear, acknowledge it; then the devices list, the alert feed and the system stream.
 * Screenshots go to test-artifacts/.
 */
import t from 'tap'
import { build } from '../helper.js'
import { login, openBrowser, waitForChartPoints, waitForValue } from './browser.js'

t.test('devices: create, chart live telemetry, raise and acknowledge an alert', async (t) => {
  const { url } = await build(t, { listen: true, env: { DEMO_SERVER: 'false' } })
  const { page, errors, shot } = await openBrowser(t, url)
  await login(page)

  await page.click('a[data-nav=devices]')
  await page.waitForSelector('.empty >> text=No devices yet')
  await page.click('[data-testid=new-device]')
  await page.fill('.modal input[name=name]', 'Greenhouse sensor')
  await page.fill('.modal input[name=type]', 'sensor')
  await page.fill('.modal input[name=units]', 'temperature=°C, humidity=%')
  await page.click('.modal button[type=submit]')
  const key = (await page.textContent('[data-testid=device-key]'))?.trim() ?? ''
  t.match(key, /\S{16,}/, 'the device key is shown once')
  await shot('05-device-created')
  await page.click('.modal button:has-text("Open device")')
  await page.waitForSelector('[data-testid=device-status]')
  const id = Number(/#\/devices\/(\d+)/.exec(page.url())?.[1])
  t.ok(id > 0, `device #${id}`)
  await page.waitForSelector('[data-testid=device-charts] .empty')

  // An alert rule through the editor.
  await page.click('[data-testid=add-rule]')
  await page.fill('.modal input[name=metric]', 'temperature')
  await page.selectOption('.modal select[name=operator]', '>')
  await page.fill('.modal input[name=threshold]', '30')
  await page.selectOption('.modal select[name=severity]', 'critical')
  await page.click('.modal button[type=submit]')
  await page.waitForSelector('[data-testid=rules-table] tbody tr >> text=temperature > 30')
  t.notMatch(await page.textContent('[data-testid=rules-table] tbody'), /clears at/, 'no clear threshold unless one was set')

  // Readings over HTTP with the device key; the chart follows live.
  const post = async (telemetry: Record<string, { value: number }>) => {
    const res = await fetch(`${url}/api/devices/${id}/telemetry`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ telemetry }),
    })
    t.ok(res.ok, `ingest answered ${res.status}`)
  }
  await post({ temperature: { value: 21.5 }, humidity: { value: 41 } })
  await page.waitForSelector('[data-testid=chart-temperature]')
  await page.waitForSelector('[data-testid=device-status][data-state=online]')
  await post({ temperature: { value: 24.25 }, humidity: { value: 44 } })
  await post({ temperature: { value: 27 }, humidity: { value: 47 } })
  await waitForChartPoints(page, 'chart-temperature', 3)
  t.match(await page.textContent('[data-testid=metric-value-temperature]'), /27/, 'latest value shown')

  // A breach: the alert appears live, once.
  await post({ temperature: { value: 35.2 }, humidity: { value: 50 } })
  await page.waitForSelector('[data-testid=device-alerts] [data-alert][data-status=open]')
  await page.waitForSelector('.toast')
  t.equal(await page.locator('[data-testid=device-alerts] [data-alert]').count(), 1, 'one alert')
  await waitForChartPoints(page, 'chart-temperature', 4)
  await page.click('[data-testid=device-alerts] [data-testid=acknowledge]')
  await page.waitForSelector('[data-testid=device-alerts] [data-alert][data-status=acknowledged]')
  await page.waitForSelector('.toast-success')
  await shot('06-device')

  await page.click('a[data-nav=devices]')
  await page.waitForSelector(`[data-testid=devices-table] tr[data-device="${id}"] .badge[data-state=online]`)
  await shot('07-devices')

  await page.click('a[data-nav=alerts]')
  await page.waitForSelector('[data-testid=alert-feed] .empty, [data-testid=alert-feed] [data-alert]')
  await page.click('.tab[data-filter=all]')
  await page.waitForSelector('[data-testid=alert-feed] [data-alert][data-status=acknowledged]')
  await page.click('[data-testid=alert-feed] [data-testid=resolve]')
  await page.waitForSelector('[data-testid=alert-feed] [data-alert][data-status=resolved]')
  await shot('08-alerts')

  await page.click('a[data-nav=system]')
  await waitForValue(page, 'system-cpu', 20_000)
  // Two updates (one period apart) so the chart draws a line.
  await waitForChartPoints(page, 'system-chart', 2, 20_000)
  await page.waitForSelector('.kv-row')
  await shot('09-system')

  await page.click('[data-testid=logout]')
  await page.waitForSelector('form.login-card')
  // The dashboard ignores a failed logout call; the session must really be over (CSRF sent).
  const after = await page.evaluate(() => fetch('/api/client/account', { headers: { accept: 'application/json' } }).then((r) => r.status))
  t.equal(after, 401, 'logout ended the session on the server')
  t.same(errors, [], 'no page errors')
})
