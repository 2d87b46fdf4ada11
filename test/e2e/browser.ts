/**
 * Headless Chromium for the dashboard's end-to-end tests: Debian's /usr/bin/chromium driven by
 * playwright-core (never `playwright install`, which downloads a browser). Collects page errors
 * so a test can assert the dashboard threw none, and saves screenshots to test-artifacts/.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import { ADMIN_EMAIL, ADMIN_PASSWORD, type TapLike } from '../helper.js'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url))
// Page-side globals, for the functions below that run inside the browser (page.evaluate /
// waitForFunction). Module-scoped: the root tsconfig has no DOM lib and must not get one.
/** The page's animations as far as this file reads them (the tests compile without the DOM's types). */
interface PageAnimation {
  effect: { getComputedTiming(): { endTime?: number | string } } | null
  finished: Promise<unknown>
}
declare const document: { querySelector(selector: string): any; getAnimations(): PageAnimation[] }
declare const window: { scrollTo(x: number, y: number): void; innerWidth: number; axe: { run(ctx: unknown, opts: unknown): Promise<AxeResults> } }
declare function requestAnimationFrame(cb: (time: number) => void): number

const AXE_SCRIPT = createRequire(import.meta.url).resolve('axe-core/axe.min.js')

interface AxeResults {
  violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }>
}

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']


export interface BrowserPage {
  browser: Browser
  page: Page
  /** Uncaught page errors and console errors seen so far. */
  errors: string[]
  shot(name: string): Promise<string>
}

export async function openBrowser(t: TapLike, baseUrl: string, viewport = { width: 1440, height: 900 }, shared?: Browser): Promise<BrowserPage> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (see ENVIRONMENT.md)`)
  const browser = shared ?? (await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true }))
  if (!shared) t.teardown(() => browser.close())
  // A second context is a second browser profile: its own cookies, so its own session.
  const context = await browser.newContext({ baseURL: baseUrl, viewport, deviceScaleFactor: 1, acceptDownloads: true })
  t.teardown(() => context.close().catch(() => {}))
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`))
  page.on('console', (msg) => {
    // Failed requests are logged by Chromium itself (e.g. the 401 of the signed-out session
    // probe); the flows assert on what the user sees instead.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) errors.push(`console: ${msg.text()}`)
  })
  mkdirSync(ARTIFACTS, { recursive: true })
  return {
    browser,
    page,
    errors,
    async shot(name) {
      const path = join(ARTIFACTS, `${name}.png`)
      // Let pending animation frames (chart redraws) land first.
      await page.evaluate(() => {
        window.scrollTo(0, 0)
        return new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))
      })
      await page.screenshot({ path, fullPage: true })
      return path
    },
  }
}

/** The page's layout width against the viewport's: more means the page scrolls sideways. */
export async function overflow(page: Page): Promise<{ scrollWidth: number; innerWidth: number }> {
  return page.evaluate(() => ({ scrollWidth: document.querySelector('html').scrollWidth as number, innerWidth: window.innerWidth }))
}

/** axe-core run inside the page; returns the serious and critical violations, one line each. */
export async function axeSerious(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE_SCRIPT })
  // A button enabled a moment ago is still fading in (its opacity transition): its colours mid-way
  // are not what the user reads, so finite transitions and animations end before axe looks.
  await page.evaluate(() =>
    Promise.all(
      document
        .getAnimations()
        .filter((a) => Number.isFinite(Number(a.effect?.getComputedTiming().endTime)))
        .map((a) => a.finished.catch(() => undefined)),
    ),
  )
  const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }))
  return res.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)).join(', ')}`)
}

/** Signs in through the login form and waits for the shell. */
export async function login(page: Page, email = ADMIN_EMAIL, password = ADMIN_PASSWORD): Promise<void> {
  await page.goto('/')
  await page.fill('input[name=email]', email)
  await page.fill('input[name=password]', password)
  await page.click('button[type=submit]')
  await page.waitForSelector('.shell .user-email')
}

/** How many lines of the terminal's buffer (scrollback included) contain `text`. */
export async function terminalCount(page: Page, text: string): Promise<number> {
  return page.evaluate((needle) => {
    const el = document.querySelector('#terminal') as (HTMLElement & { wirehubText?: () => string }) | null
    return (el?.wirehubText?.() ?? '').split('\n').filter((l: string) => l.includes(needle)).length
  }, text)
}

/** Resolves once at least `min` lines of the terminal's buffer contain `text`. */
export async function waitForTerminal(page: Page, text: string, min = 1, timeout = 15_000): Promise<void> {
  await page.waitForFunction(
    ([needle, n]) => {
      const el = document.querySelector('#terminal')
      return (el?.wirehubText?.() ?? '').split('\n').filter((l: string) => l.includes(needle as string)).length >= (n as number)
    },
    [text, min] as const,
    { timeout },
  )
}

/** Resolves once the chart with this data-testid has drawn at least `min` points. */
export async function waitForChartPoints(page: Page, testid: string, min: number, timeout = 15_000): Promise<void> {
  await page.waitForFunction(
    ([id, n]) => Number(document.querySelector(`[data-testid="${id}"]`)?.dataset.points ?? 0) >= (n as number),
    [testid, min] as const,
    { timeout },
  )
}

/** Resolves once the element with this data-testid shows a digit (a value arrived). */
export async function waitForValue(page: Page, testid: string, timeout = 15_000): Promise<void> {
  await page.waitForFunction((id) => /\d/.test(document.querySelector(`[data-testid="${id}"]`)?.textContent ?? ''), testid, { timeout })
}
