/**
 * Embedded mode as an operator runs it: `node --import tsx src/server.ts` with only DATA_DIR and
 * PORT=0. First start generates the administrator and prints the password and application key
 * once in a marked plain-text block; a second process on the same DATA_DIR refuses to start; after a
 * stop, a restart reuses the data without reprinting credentials; a malformed ADMIN_API_KEY
 * stops start-up with a message naming it. The logged start-up times are reported.
 */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../../src/config/config.js'
import { started, startServer, type ServerProcess } from './process-support.js'

const BANNER = 'administrator created (shown once)'

t.test('embedded server process lifecycle', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'wirehub-embedded-'))
  const dataDir = join(root, 'data')
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const env = { DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', DEMO_SERVER: 'false' }
  const running = new Set<ServerProcess>()
  t.teardown(() => {
    for (const p of running) p.child.kill('SIGKILL')
  })
  const launch = () => {
    const p = startServer(env, root)
    running.add(p)
    void p.exited.then(() => running.delete(p))
    return p
  }

  // --- first start
  const first = launch()
  const one = await started(first)
  t.match(one.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'listening on an ephemeral port')
  const out = first.stdout()
  t.equal(out.split(BANNER).length - 1, 1, 'the credentials block is printed once')
  const msg = out.slice(out.indexOf(BANNER))
  const password = /password:\s+(\S+)/.exec(msg)?.[1]
  const appKey = /application key:\s+(wha_[A-Za-z0-9]{44})/.exec(msg)?.[1]
  const email = /email:\s+(\S+)/.exec(msg)?.[1]
  t.ok(password && password.length >= 16, 'a generated password is shown')
  t.ok(appKey, 'a generated application key is shown')
  t.equal(first.stdout().split(password!).length - 1, 1, 'the password appears exactly once in the whole output')

  const health = await fetch(`${one.url}/health`)
  t.equal(health.status, 200, '/health')
  const users = await fetch(`${one.url}/api/application/users`, { headers: { authorization: `Bearer ${appKey}` } })
  t.equal(users.status, 200, 'the printed application key works')
  const login = await fetch(`${one.url}/api/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }),
  })
  t.equal(login.status, 200, 'the printed password works')

  // --- a second process on the same DATA_DIR refuses to start
  const second = launch()
  const refused = await second.exited
  t.not(refused.code, 0, `second process exits non-zero (${refused.code})`)
  t.match(second.stderr(), /data folder .* is in use by another wirehub process/, 'with a clear message')
  t.match(second.stderr(), new RegExp(`pid ${first.child.pid}`), 'naming the owner pid')
  t.equal((await fetch(`${one.url}/health`)).status, 200, 'the first process is unharmed')

  // --- stop the first; a restart reuses the data and does not reprint credentials
  first.child.kill('SIGTERM')
  const stopped = await first.exited
  t.equal(stopped.code, 0, 'SIGTERM exits 0')
  const third = launch()
  const two = await started(third)
  t.notOk(third.stdout().includes(BANNER), 'credentials are not reprinted')
  t.notOk(third.stdout().includes(password!), 'the password is not reprinted')
  const again = await fetch(`${two.url}/api/application/users`, { headers: { authorization: `Bearer ${appKey}` } })
  t.equal(again.status, 200, 'the data (admin and key) survived the restart')
  t.equal((await again.json() as { meta: { pagination: { total: number } } }).meta.pagination.total, 1, 'no second admin')
  third.child.kill('SIGTERM')
  t.equal((await third.exited).code, 0)

  t.comment(`embedded start-up time: first ${one.ms} ms, second ${two.ms} ms (from the 'wirehub started' log line)`)
  t.ok(one.ms > 0 && two.ms > 0)
})

t.test('a malformed ADMIN_API_KEY stops start-up with a message naming it', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'wirehub-badkey-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const p = startServer({ DATA_DIR: join(root, 'data'), PORT: '0', ADMIN_API_KEY: 'wha_tooShort' }, root)
  t.teardown(() => p.child.kill('SIGKILL'))
  const { code } = await p.exited
  t.not(code, 0, `non-zero exit (${code})`)
  t.match(p.stderr(), /ADMIN_API_KEY/, 'the message names ADMIN_API_KEY')
  t.notMatch(p.stderr(), /wha_tooShort/, 'without echoing the secret value')
  // The same rule without a process: a client key, or a bad password, is refused and not echoed.
  for (const [name, value] of [['ADMIN_API_KEY', 'whc_' + 'a'.repeat(44)], ['ADMIN_PASSWORD', 'short']] as const) {
    try {
      loadConfig({ env: { [name]: value }, dotenv: false })
      t.fail(`${name}=${value.slice(0, 4)}… accepted`)
    } catch (err) {
      t.ok(err instanceof ConfigError, `${name}: ConfigError`)
      t.match((err as Error).message, new RegExp(`${name}: `), `names ${name}`)
      t.notOk((err as Error).message.includes(value), `does not echo ${name}`)
    }
  }
})
