/**
 * The first start as an operator sees it, through a real process with stdout piped (no
 * terminal): the credentials block is plain text with the URL to open, printed once the server
 * listens; one log line for the migration run; /health, /ready and /metrics (probes and scrapes)
 * are not logged at info.
 * (Start-up failures: startup-errors.test.ts.)
 */
import t from 'tap'
import { join } from 'node:path'
import { launch, started, workspace } from './process-support.js'

const BANNER = 'wirehub: administrator created (shown once)'

t.test('first start prints plain credentials once listening, one migration line, no probe or scrape logs', async (t) => {
  const root = workspace(t, 'first-start')
  const p = launch(t, { DATA_DIR: join(root, 'data'), PORT: '0' }, root)
  const { url } = await started(p)
  const out = p.stdout()
  const block = out.slice(out.indexOf(BANNER))
  t.ok(out.includes(BANNER), 'the block is printed')
  t.notOk(out.slice(0, out.indexOf(BANNER)).includes('password:'), 'nothing of it before the banner')
  t.ok(out.indexOf(BANNER) > out.indexOf('"msg":"wirehub started"'), 'printed after the server listens')
  t.match(block, new RegExp(`^  Open ${url}/ and sign in with:$`, 'm'), 'the URL to open, with the real port')
  const password = /^  {3}password: +(\S+)$/m.exec(block)?.[1]
  const email = /^  {3}email: +(\S+)$/m.exec(block)?.[1]
  t.ok(password && password.length >= 16, 'the password on its own plain line (not inside a JSON string)')
  t.match(block, /^  {3}application key: +wha_[A-Za-z0-9]{44} /m, 'the application key on its own line')
  t.equal(out.split(BANNER).length, 2, 'printed once')
  t.equal(out.split(password!).length, 2, 'the password appears once in the whole output')
  t.equal(p.logs.filter((l) => /migration|schema is up to date/.test(String(l.msg))).length, 1, 'one log line for the migration run')
  t.ok(p.logs.some((l) => l.msg === 'administrator created' && l.email === email), 'a log line records the creation, without secrets')

  const login = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })
  t.equal(login.status, 200, 'the printed password signs in')
  const before = p.logs.length
  for (const path of ['/health', '/ready', '/metrics']) t.equal((await fetch(`${url}${path}`)).status, 200, path)
  await fetch(`${url}/api/client/account`) // a logged request after the probes, to know the log caught up
  await p.waitForLog((l) => String((l.req as { url?: string } | undefined)?.url) === '/api/client/account')
  const probes = p.logs.slice(before).filter((l) => /\/(health|ready|metrics)/.test(String((l.req as { url?: string } | undefined)?.url)))
  t.same(probes, [], '/health, /ready and /metrics are not logged at info')
})
