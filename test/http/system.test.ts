/**
 * Operations endpoints: `/health` (the process answers) and `/ready` (the database answers;
 * 503 otherwise, without leaking what went wrong: the log has that).
 */
import t from 'tap'
import pg from 'pg'
import { build } from '../helper.js'

t.test('/health and /ready', async (t) => {
  const { app, config } = await build(t)

  const health = await app.inject({ url: '/health' })
  t.equal(health.statusCode, 200)
  t.same(health.json(), { status: 'ok' })
  t.notOk(health.headers['x-ratelimit-limit'], '/health is not rate limited (probes hit it often)')

  const ready = await app.inject({ url: '/ready' })
  t.equal(ready.statusCode, 200)
  // The game-server module adds its sandbox and limits report (machine-dependent values).
  const { sandbox, limits } = ready.json().checks
  t.type(sandbox, 'string', '/ready reports the game-server sandbox')
  t.type(limits, 'string', '/ready reports the game-server limits')
  t.same(ready.json(), { status: 'ok', checks: { database: 'ok', storage: 'ok', sandbox, limits } })

  // Take the database away: terminate the app's connections and drop it.
  const url = new URL(config.DATABASE_URL!)
  const name = url.pathname.slice(1)
  url.pathname = '/postgres'
  const root = new pg.Client({ connectionString: url.toString() })
  await root.connect()
  await root.query(`drop database "${name}" with (force)`)
  await root.end()

  for (let i = 0; i < 2; i++) {
    const down = await app.inject({ url: '/ready' })
    t.equal(down.statusCode, 503, `attempt ${i + 1}: 503 when the database is gone`)
    t.same(down.json(), { status: 'unavailable', checks: { database: 'unavailable', storage: 'ok', sandbox, limits } }, 'nothing internal in the body')
    t.notMatch(down.body, new RegExp(`${name}|terminat|does not exist|ECONN|postgres`, 'i'))
  }
  const stillAlive = await app.inject({ url: '/health' })
  t.equal(stillAlive.statusCode, 200, '/health stays up: the process is alive')
})
