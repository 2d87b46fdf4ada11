/**
 * End to end in a real headless Chromium against a real wirehub with the demo game server:
 * log in, see the server list, open the console, start the server, watch its output reach
 * "Done", send a command and see the answer, search the output, turn timestamps on, download
 * the log, see live stats, stop it. Screenshots go to
 * test-artifacts/ (login, servers, console running, console stopped).
 */
import { readFileSync } from 'node:fs'
import t from 'tap'
import { build } from '../helper.js'
import { login, openBrowser, terminalCount, waitForChartPoints, waitForTerminal, waitForValue } from './browser.js'

const STATE = '.badge[data-testid=server-state]'
// Page-side global for the functions that run in the browser (the root tsconfig has no DOM lib).
declare const document: { querySelector(selector: string): any }

t.test('console: start the demo server, run a command, stop it', async (t) => {
  const { url } = await build(t, { listen: true, env: { DEMO_SERVER: 'true' } })
  const { page, errors, shot } = await openBrowser(t, url)

  await page.goto('/')
  await page.waitForSelector('form.login-card')
  await shot('01-login')
  await login(page)

  // Servers list with the demo server and its live state (it starts with wirehub).
  await page.waitForSelector('[data-testid=servers-table] tbody tr .badge[data-state=running], [data-testid=servers-table] tbody tr .badge[data-state=offline]')
  t.equal(await page.locator('[data-testid=servers-table] tbody tr').count(), 1, 'the demo server is listed')
  await shot('02-servers')

  await page.click('[data-testid=servers-table] tbody tr a')
  await page.waitForSelector('[data-testid=terminal] .xterm')
  await page.waitForSelector('.conn.ok')
  await page.waitForSelector(`${STATE}[data-state=running], ${STATE}[data-state=offline]`)

  // The demo server runs from boot: stop it first, so this test starts it itself.
  if ((await page.getAttribute(STATE, 'data-state')) === 'running') {
    await page.click('[data-action=stop]:not([disabled])')
    await page.waitForSelector(`${STATE}[data-state=offline]`, { timeout: 20_000 })
  }
  t.ok(await page.isDisabled('[data-action=stop]'), 'stop is disabled while offline')
  t.ok(await page.isDisabled('[data-testid=command-input]'), 'no commands while offline')

  const boots = await terminalCount(page, 'Starting minecraft server')
  const dones = await terminalCount(page, 'For help, type "help"')
  await page.click('[data-action=start]:not([disabled])')
  await waitForTerminal(page, 'Starting minecraft server', boots + 1)
  await waitForTerminal(page, 'For help, type "help"', dones + 1)
  await page.waitForSelector(`${STATE}[data-state=running]`)
  t.ok(await page.isDisabled('[data-action=start]'), 'start is disabled while running')

  await page.fill('[data-testid=command-input]:not([disabled])', 'help')
  await page.press('[data-testid=command-input]', 'Enter')
  await waitForTerminal(page, 'Available commands: help, list, say <text>, stop')
  await page.fill('[data-testid=command-input]', 'say hello from chromium')
  await page.press('[data-testid=command-input]', 'Enter')
  await waitForTerminal(page, '[Server] hello from chromium')
  // History: ↑ recalls the last command, ↑ again the one before, ↓↓ back to the draft.
  await page.press('[data-testid=command-input]', 'ArrowUp')
  t.equal(await page.inputValue('[data-testid=command-input]'), 'say hello from chromium')
  await page.press('[data-testid=command-input]', 'ArrowUp')
  t.equal(await page.inputValue('[data-testid=command-input]'), 'help')
  await page.press('[data-testid=command-input]', 'ArrowDown')
  await page.press('[data-testid=command-input]', 'ArrowDown')
  t.equal(await page.inputValue('[data-testid=command-input]'), '', 'back to an empty draft')

  // Search (xterm's search addon), timestamps, and the log download.
  await page.fill('[data-testid=console-search]', 'hello from chromium')
  await page.waitForFunction(() => /^\d+ \/ [1-9]\d*$/.test(document.querySelector('[data-testid=search-count]')?.textContent ?? ''))
  await page.fill('[data-testid=console-search]', 'no such text anywhere')
  await page.waitForSelector('[data-testid=search-count]:text("none")')
  await page.fill('[data-testid=console-search]', '')
  t.notOk(await terminalCount(page, 'Available commands') === 0, 'output still there')
  const stamped = (await page.evaluate(() => document.querySelector('#terminal')?.wirehubText?.() ?? '')) as string
  t.notMatch(stamped, /^\d\d:\d\d:\d\d \[wirehub\]/m, 'no timestamps by default')
  await page.check('[data-testid=console-timestamps]')
  await page.waitForFunction(() => /^\d\d:\d\d:\d\d \[wirehub\] Server marked as running/m.test(document.querySelector('#terminal')?.wirehubText?.() ?? ''))
  t.equal(await terminalCount(page, '[Server] hello from chromium'), 1, 'timestamps redraw the same lines, once each')
  await page.uncheck('[data-testid=console-timestamps]')
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=console-download]')])
  t.match(download.suggestedFilename(), /-console\.log$/)
  const saved = await download.path().then((p) => (p ? readFileSync(p, 'utf8') : ''))
  t.match(saved, /\[Server\] hello from chromium/, 'the downloaded log has the output')
  t.notMatch(saved, /\x1b\[/, 'without colour codes')

  // Live stats: the tiles fill in and the charts get points.
  await waitForValue(page, 'stat-memory')
  await waitForChartPoints(page, 'memory-chart', 2)
  await waitForChartPoints(page, 'cpu-chart', 2)
  await shot('03-console-running')

  const offs = await terminalCount(page, 'Server marked as offline')
  await page.click('[data-action=stop]:not([disabled])')
  await page.waitForSelector(`${STATE}[data-state=offline]`, { timeout: 20_000 })
  await waitForTerminal(page, 'Server marked as offline', offs + 1)
  await shot('04-console-stopped')

  t.same(errors, [], 'no page errors')
})
