/**
 * The management flows end to end in a real headless Chromium against a real wirehub, with
 * three browser profiles (an administrator and a second user twice):
 * - an administrator creates a server with the dialog and watches its console start;
 * - creates a user with a client API key shown once (and the key works);
 * - adds that user as a subuser: the subuser's console shows only what they may do, and a
 *   permission change while their console is open updates their buttons and keeps it working;
 * - suspending the server shows a clear state on both consoles and lifting it recovers; deleting
 *   it says so on the subuser's console;
 * - the user changes their password: their other session ends, this one stays;
 * - a device key is rotated: the old key is refused, the new one accepted; a command sent from
 *   the device page reaches a device polling over HTTP and its states follow live; the device
 *   is renamed (with a retention) and deleted.
 * Screenshots: test-artifacts/manage-*.png.
 */
import t from 'tap'
import { DEMO_SERVER_SCRIPT } from '../../src/modules/servers/servers.plugin.js'
import { build } from '../helper.js'
import { login, openBrowser, waitForTerminal, waitForValue } from './browser.js'

const SUB_EMAIL = 'friend@example.test'
const SUB_PASSWORD = 'friend password one'
const SUB_NEW_PASSWORD = 'friend password two'
const STATE = '.badge[data-testid=server-state]'

t.test('servers, users, keys, subusers, passwords and device keys from the dashboard', async (t) => {
  const { url } = await build(t, { listen: true, env: { DEMO_SERVER: 'false' } })
  const admin = await openBrowser(t, url, { width: 1366, height: 900 })
  const a = admin.page
  await login(a)

  // --- an administrator creates a server and watches its console
  await a.click('a[data-nav=servers]')
  await a.waitForSelector('.empty >> text=No servers yet')
  await a.click('[data-testid=new-server]')
  await a.fill('[data-testid=server-form] input[name=name]', 'Survival world')
  await a.fill('[data-testid=server-form] input[name=description]', 'Created from the dashboard')
  await a.fill('[data-testid=server-form] input[name=command]', process.execPath)
  await a.fill('[data-testid=server-form] textarea[name=args]', DEMO_SERVER_SCRIPT)
  await a.fill('[data-testid=server-form] textarea[name=environment]', 'GREETING=hello')
  await a.fill('[data-testid=server-form] input[name=done_pattern]', '\\]: Done \\(')
  await a.fill('[data-testid=server-form] input[name=memory]', '512')
  await a.fill('[data-testid=server-form] input[name=disk]', '1024')
  await admin.shot('manage-01-new-server')
  await a.click('[data-testid=server-form] button[type=submit]')
  await a.waitForSelector('.conn.ok')
  await a.waitForSelector(`${STATE}[data-state=offline]`)
  const serverHash = new URL(a.url()).hash
  t.match(serverHash, /^#\/servers\/[0-9a-f]{8}$/, 'the new server opened in its console')
  await a.click('[data-action=start]:not([disabled])')
  await waitForTerminal(a, 'For help, type "help"')
  await a.waitForSelector(`${STATE}[data-state=running]`)
  await waitForValue(a, 'stat-memory')
  t.match(await a.textContent('[data-testid=stat-memory]'), /\d/, 'live stats of the new server')

  // --- a user with a client key, shown once
  await a.click('a[data-nav=users]')
  await a.waitForSelector('[data-testid=users-table]')
  await a.click('[data-testid=new-user]')
  await a.fill('[data-testid=user-form] input[name=email]', SUB_EMAIL)
  await a.fill('[data-testid=user-form] input[name=password]', SUB_PASSWORD)
  await a.check('[data-testid=user-form] input[name=with_client_key]')
  await a.click('[data-testid=user-form] button[type=submit]')
  const key = ((await a.textContent('[data-testid=user-api-key]')) ?? '').trim()
  t.match(key, /^whc_[A-Za-z0-9]{44}$/, 'the client key is shown once')
  await admin.shot('manage-02-user-key')
  const me = await fetch(`${url}/api/client/account`, { headers: { authorization: `Bearer ${key}` } })
  t.equal(me.status, 200, 'the shown key works')
  t.equal(((await me.json()) as { attributes: { email: string } }).attributes.email, SUB_EMAIL)
  await a.click('[data-testid=dialog-close]')
  await a.waitForSelector(`[data-testid=users-table] tr[data-user="${SUB_EMAIL}"]`)

  // --- the user as a subuser with console access only
  await a.goto(`/${serverHash}`)
  await a.waitForSelector('.conn.ok')
  await a.click('[data-testid=add-subuser]')
  await a.fill('[data-testid=subuser-form] input[name=email]', SUB_EMAIL)
  t.ok(await a.isChecked('[data-testid=subuser-form] input[name="perm:websocket.connect"]'), 'websocket.connect is ticked by default')
  await a.check('[data-testid=subuser-form] input[name="perm:control.console"]')
  await a.click('[data-testid=subuser-form] button[type=submit]')
  await a.waitForSelector(`[data-testid=subusers-table] tr[data-subuser="${SUB_EMAIL}"]`)

  const sub = await openBrowser(t, url, { width: 390, height: 844 }, admin.browser)
  const b = sub.page
  await login(b, SUB_EMAIL, SUB_PASSWORD)
  await b.waitForSelector('[data-testid=servers-table] tbody tr')
  await b.click('[data-testid=servers-table] tbody tr a')
  await b.waitForSelector('.conn.ok')
  await b.waitForSelector(`${STATE}[data-state=running]`)
  for (const action of ['start', 'stop', 'restart', 'kill']) {
    t.equal(await b.getAttribute(`[data-action=${action}]`, 'data-allowed'), 'false', `the subuser may not ${action}`)
    t.ok(await b.isDisabled(`[data-action=${action}]`), `${action} is disabled for the subuser`)
  }
  t.equal(await b.locator('[data-testid=server-edit]').count(), 0, 'no administrator buttons')
  t.equal(await b.locator('[data-testid=subusers]').count(), 0, 'no subusers card without user.read')
  await b.fill('[data-testid=command-input]:not([disabled])', 'say hi from the subuser')
  await b.press('[data-testid=command-input]', 'Enter')
  await waitForTerminal(b, '[Server] hi from the subuser')
  await sub.shot('manage-03-subuser-limited')

  // Their permissions change while the console is open: the buttons follow, the console works.
  await a.click(`[data-testid=subusers-table] tr[data-subuser="${SUB_EMAIL}"] button:has-text("Edit")`)
  await a.check('[data-testid=subuser-form] input[name="perm:control.stop"]')
  await a.click('[data-testid=subuser-form] button[type=submit]')
  await a.waitForSelector('.toast >> text=Permissions saved.')
  await b.waitForSelector('[data-action=stop][data-allowed=true]:not([disabled])')
  await b.waitForSelector('.conn.ok')
  t.equal(await b.getAttribute('[data-action=start]', 'data-allowed'), 'false', 'start is still not theirs')
  await b.fill('[data-testid=command-input]:not([disabled])', 'say still connected')
  await b.press('[data-testid=command-input]', 'Enter')
  await waitForTerminal(b, '[Server] still connected')
  await sub.shot('manage-04-subuser-updated')

  // --- suspended: a clear state on both consoles; lifted: both recover
  await a.click('[data-testid=server-suspend]')
  await a.waitForSelector('[data-testid=console-state][data-kind=suspended]')
  await b.waitForSelector('[data-testid=console-state][data-kind=suspended]')
  await b.waitForSelector(`${STATE}[data-state=suspended]`)
  await sub.shot('manage-05-subuser-suspended')
  await a.click('[data-testid=server-suspend]:has-text("Unsuspend")')
  await a.waitForSelector('.conn.ok')
  await a.waitForSelector(`${STATE}[data-state=offline]`)
  await b.waitForSelector(`${STATE}[data-state=offline]`, { timeout: 30_000 })
  await b.waitForSelector('[data-testid=console-state][data-kind=offline]')

  // --- the subuser changes their password: their other session ends, this one stays
  const other = await openBrowser(t, url, { width: 1366, height: 768 }, admin.browser)
  await login(other.page, SUB_EMAIL, SUB_PASSWORD)
  await other.page.click('a[data-nav=account]')
  await other.page.waitForSelector('[data-testid=sessions-table]')
  t.equal(await other.page.locator('[data-testid=sessions-table] tbody tr').count(), 2, 'two sessions listed')
  await other.shot('manage-06-account')
  await b.goto('/#/account')
  await b.fill('[data-testid=password-form] input[name=current_password]', 'not my password')
  await b.fill('[data-testid=password-form] input[name=password]', SUB_NEW_PASSWORD)
  await b.fill('[data-testid=password-form] input[name=password_confirmation]', SUB_NEW_PASSWORD)
  await b.click('[data-testid=password-form] button[type=submit]')
  await b.waitForSelector('[data-testid=password-form] .form-error:not([hidden])')
  t.match(await b.textContent('[data-testid=password-form] .form-error'), /current password/i, 'a wrong current password is refused')
  await b.fill('[data-testid=password-form] input[name=current_password]', SUB_PASSWORD)
  await b.click('[data-testid=password-form] button[type=submit]')
  await b.waitForSelector('.toast >> text=Your other sessions were signed out')
  await other.page.waitForSelector('form.login-card .form-error:has-text("Your session has ended")')
  await other.shot('manage-07-other-session-ended')
  await b.waitForSelector('[data-testid=sessions-table] tbody tr[data-current=true]')
  t.equal(await b.locator('[data-testid=sessions-table] tbody tr').count(), 1, 'only this session is left')
  await login(other.page, SUB_EMAIL, SUB_NEW_PASSWORD)

  // --- deleted while the subuser watches: the console says so
  await b.goto(`/${serverHash}`)
  await b.waitForSelector('.conn.ok')
  await a.click('[data-testid=server-delete]')
  await a.click('[data-testid=confirm]')
  await a.waitForSelector('.empty >> text=No servers yet')
  await b.waitForSelector('[data-testid=console-state][data-kind=deleted]')
  await b.waitForSelector(`${STATE}[data-state=deleted]`)
  await sub.shot('manage-08-subuser-deleted')

  // --- a device key rotated: the old key is refused, the new one works
  await a.click('a[data-nav=devices]')
  await a.click('[data-testid=new-device]')
  await a.fill('.modal input[name=name]', 'Rotating sensor')
  await a.click('.modal button[type=submit]')
  const oldKey = ((await a.textContent('[data-testid=device-key]')) ?? '').trim()
  await a.click('.modal button:has-text("Open device")')
  await a.waitForSelector('[data-testid=device-status]')
  const id = Number(/#\/devices\/(\d+)/.exec(a.url())?.[1])
  const ingest = (k: string) =>
    fetch(`${url}/api/devices/${id}/telemetry`, { method: 'POST', headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' }, body: JSON.stringify({ telemetry: { temperature: { value: 20 } } }) })
  t.ok((await ingest(oldKey)).ok, 'the first key works')
  const oldKeyId = await a.textContent('[data-testid=device-key-id]')
  await a.click('[data-testid=device-rotate]')
  await a.click('.modal button[type=submit]:has-text("Rotate key")')
  const newKey = ((await a.textContent('[data-testid=device-key]')) ?? '').trim()
  t.not(newKey, oldKey, 'a new key is shown once')
  await admin.shot('manage-09-key-rotated')
  await a.click('[data-testid=dialog-close]')
  t.not(await a.textContent('[data-testid=device-key-id]'), oldKeyId, 'the header shows the new key identifier')
  const refused = await ingest(oldKey)
  t.equal(refused.status, 401, 'the old key is refused')
  t.ok((await ingest(newKey)).ok, 'the new key works')

  // A command from the panel to a device polling over HTTP; its states follow live.
  const poll = fetch(`${url}/api/devices/${id}/commands?wait=20`, { headers: { authorization: `Bearer ${newKey}` } })
  await a.fill('[data-testid=command-form] input[name=method]', 'setLed')
  await a.fill('[data-testid=command-form] input[name=params]', '{"on": true}')
  await a.click('[data-testid=command-form] button[type=submit]')
  const polled = (await (await poll).json()) as unknown
  const list = (Array.isArray(polled) ? polled : ((polled as { data?: unknown[] }).data ?? [])) as Array<{ id?: number; attributes?: { id: number } }>
  const cmdId = Number(list[0]?.id ?? list[0]?.attributes?.id)
  t.ok(cmdId > 0, `the device received command #${cmdId}`)
  await a.waitForSelector(`[data-testid=commands-table] tr[data-command="${cmdId}"][data-state=SENT]`)
  const answer = (body: Record<string, unknown>) =>
    fetch(`${url}/api/devices/${id}/commands/${cmdId}`, { method: 'POST', headers: { authorization: `Bearer ${newKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  t.ok((await answer({})).ok, 'acknowledged')
  await a.waitForSelector(`[data-testid=commands-table] tr[data-command="${cmdId}"][data-state=DELIVERED]`)
  t.ok((await answer({ result: { led: 'on' } })).ok, 'answered')
  await a.waitForSelector(`[data-testid=commands-table] tr[data-command="${cmdId}"][data-state=SUCCEEDED]`)
  t.match(await a.textContent(`[data-testid=commands-table] tr[data-command="${cmdId}"]`), /"led":"on"/, 'the result is shown')
  await admin.shot('manage-10-device-command')

  // Rename (and set the retention), then delete from the device page.
  await a.click('[data-testid=device-rename]')
  await a.fill('[data-testid=rename-form] input[name=name]', 'Renamed sensor')
  await a.fill('[data-testid=rename-form] input[name=retention]', '30')
  await a.click('[data-testid=rename-form] button[type=submit]')
  await a.waitForSelector('.server-title h2:has-text("Renamed sensor")')
  // Read back with the administrator's own session (the device is theirs).
  const saved = (await a.evaluate((path) => fetch(path).then((r) => r.json()), `/api/client/devices/${id}`)) as { attributes: { name: string; telemetry_retention_days: number | null } }
  t.same([saved.attributes.name, saved.attributes.telemetry_retention_days], ['Renamed sensor', 30], 'name and retention saved')
  await a.click('[data-testid=device-delete]')
  await a.click('[data-testid=confirm]')
  await a.waitForSelector('.empty >> text=No devices yet')

  t.same(admin.errors, [], 'no page errors (administrator)')
  t.same(sub.errors, [], 'no page errors (subuser)')
  t.same(other.errors, [], 'no page errors (other session)')
})
