/**
 * Every page of the dashboard at a phone's 390×844 and a laptop's 1366×768, in a real headless
 * Chromium: the page never scrolls sideways (`scrollWidth <= innerWidth`; wide tables scroll
 * inside their cards) and axe-core reports no serious or critical accessibility violation. The
 * pages hold realistic content (a running server, a device with readings, a long alert rule,
 * alerts), which is what broke the layout before. Screenshots: test-artifacts/layout-*.png.
 */
import t from 'tap'
import { build } from '../helper.js'
import { login as apiLogin } from '../http/support.js'
import { axeSerious, login, openBrowser, overflow, waitForChartPoints } from './browser.js'
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../helper.js'

const VIEWPORTS = [
  { name: 'phone', width: 390, height: 844 },
  { name: 'laptop', width: 1366, height: 768 },
]

t.test('no horizontal scroll and no serious axe violations on any page, phone and laptop', async (t) => {
  const { app, url } = await build(t, { listen: true, env: { DEMO_SERVER: 'true' } })

  // Content through the API, as a user would have it after a while.
  const s = await apiLogin(app, ADMIN_EMAIL, ADMIN_PASSWORD)
  const inject = (method: 'POST' | 'GET', path: string, payload?: Record<string, unknown>) =>
    app.inject({ method, url: path, cookies: s.cookies, headers: { 'x-csrf-token': s.csrf }, ...(payload ? { payload } : {}) })
  const created = (await inject('POST', '/api/client/devices', { name: 'Greenhouse sensor with a rather long name', type: 'sensor', units: { temperature: '°C', humidity: '%' } })).json()
  const id = created.attributes.id as number
  const key = created.meta.device_key as string
  t.equal(
    (await inject('POST', `/api/client/devices/${id}/alert-rules`, { metric: 'temperature', operator: '>', threshold: 30, severity: 'critical', title: 'Greenhouse temperature is far too high for the seedlings on the north side', message: 'Open the vents now' })).statusCode,
    201,
  )
  for (const v of [21.5, 24.25, 27, 35.2]) {
    const res = await fetch(`${url}/api/devices/${id}/telemetry`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ telemetry: { temperature: { value: v }, humidity: { value: v + 20 } } }),
    })
    t.ok(res.ok)
  }
  const servers = (await inject('GET', '/api/client?type=admin')).json()
  const server = servers.data[0].attributes.identifier as string

  const PAGES: Array<{ name: string; hash: string; ready: string }> = [
    { name: 'servers', hash: '#/servers', ready: '[data-testid=servers-table] .badge[data-state=running], [data-testid=servers-table] .badge[data-state=offline]' },
    { name: 'console', hash: `#/servers/${server}`, ready: '.conn.ok' },
    { name: 'devices', hash: '#/devices', ready: '[data-testid=devices-table]' },
    { name: 'device', hash: `#/devices/${id}`, ready: '[data-testid=rules-table]' },
    { name: 'alerts', hash: '#/alerts', ready: '[data-testid=alert-feed] [data-alert]' },
    { name: 'system', hash: '#/system', ready: '[data-testid=system-cpu]:not(:text("—"))' },
    { name: 'users', hash: '#/users', ready: '[data-testid=users-table]' },
    { name: 'account', hash: '#/account', ready: '[data-testid=sessions-table]' },
  ]

  let shared: Awaited<ReturnType<typeof openBrowser>>['browser'] | undefined
  for (const vp of VIEWPORTS) {
    const { browser, page, errors, shot } = await openBrowser(t, url, { width: vp.width, height: vp.height }, shared)
    shared = browser
    const check = async (name: string) => {
      const { scrollWidth, innerWidth } = await overflow(page)
      t.ok(scrollWidth <= innerWidth, `${name} at ${vp.width}px: page ${scrollWidth}px wide, viewport ${innerWidth}px`)
      t.same(await axeSerious(page), [], `${name} at ${vp.width}px: no serious or critical axe violations`)
      await shot(`layout-${name}-${vp.width}`)
    }

    await page.goto('/')
    await page.waitForSelector('form.login-card')
    await check('login')
    await login(page)
    for (const p of PAGES) {
      await page.goto(`/${p.hash}`)
      await page.waitForSelector(p.ready)
      if (p.name === 'device') await waitForChartPoints(page, 'chart-temperature', 4)
      await check(p.name)
    }
    // A dialog with many fields: the new-server form scrolls inside itself, not the page.
    await page.goto('/#/servers')
    await page.click('[data-testid=new-server]')
    await page.waitForSelector('[data-testid=server-form]')
    await check('new-server-dialog')
    t.same(errors, [], `no page errors at ${vp.width}px`)
  }
})
