/**
 * Input PostgreSQL would refuse, or that would overflow a recursive serialiser, is refused where
 * requests are validated, for every route: a NUL character in any text field (bodies, query
 * strings, the unauthenticated login), metadata nested thousands deep, and a device PATCH whose
 * status change cannot be recorded. Each answers 422 naming the field, never 500, and nothing of
 * it reaches the database. Requests go over real HTTP to a real port.
 */
import t from 'tap'
import { ADMIN_EMAIL, bearer, build } from '../helper.js'
import { DEMO_SERVER_SCRIPT } from '../../src/modules/servers/servers.plugin.js'
import { findInputProblem, MAX_INPUT_DEPTH } from '../../src/lib/input-limits.js'
import { createDevice, createUser } from '../channels/support.js'

const NUL = '\u0000'

t.test('findInputProblem', async (t) => {
  t.equal(findInputProblem({ a: 'x', b: [1, { c: 'y' }] }), null)
  t.match(findInputProblem({ a: { b: `x${NUL}` } }), { path: '/a/b', rule: 'nul' })
  t.match(findInputProblem({ [`k${NUL}`]: 1 }), { path: '', rule: 'nul' })
  t.match(findInputProblem(`x${NUL}`), { path: '', rule: 'nul' })
  let deep: unknown = 1
  for (let i = 0; i < 100_000; i++) deep = { d: deep }
  t.match(findInputProblem(deep), { rule: 'depth' }, 'a value 100,000 deep is measured without recursion')
  let ok: unknown = 1
  for (let i = 0; i < MAX_INPUT_DEPTH; i++) ok = [ok]
  t.equal(findInputProblem(ok), null, `${MAX_INPUT_DEPTH} levels are accepted`)
})

t.test('bad input answers 422 naming the field, never 500', async (t) => {
  const ta = await build(t, { listen: true, env: { RATE_LIMIT_MAX: '100000', DEMO_SERVER: 'false' } })
  const user = await createUser(ta)
  const device = await createDevice(ta, user.key, { name: 'probe' })
  const admin = await ta.app.prisma.user.findFirstOrThrow({ where: { rootAdmin: true } })
  const server = await ta.app.inject({
    method: 'POST',
    url: '/api/application/servers',
    headers: bearer(ta.adminKey),
    payload: { name: 'probe', user: admin.id, command: process.execPath, args: [DEMO_SERVER_SCRIPT] },
  })
  t.equal(server.statusCode, 201, 'a server to patch')
  const serverId = server.json().attributes.id as number

  const send = async (method: string, path: string, key: string | null, body?: unknown) => {
    const res = await fetch(`${ta.url}${path}`, {
      method,
      headers: { ...(key ? bearer(key) : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    })
    return { status: res.status, body: (await res.json()) as { errors: Array<{ detail: string; meta?: { source_field?: string; rule?: string } }> } }
  }
  // Written as text: JSON.stringify itself would overflow on it.
  const deep = `{"metadata":{"deep":${'{"n":'.repeat(5000)}"leaf"${'}'.repeat(5000)}}}`
  const dev = `/api/client/devices/${device.id}`
  const cases: Array<[string, string, string, string | null, unknown, string]> = [
    ['device name', 'POST', '/api/client/devices', user.key, { name: `a${NUL}b` }, 'name'],
    ['device type', 'PATCH', dev, user.key, { type: `t${NUL}` }, 'type'],
    ['device metadata value', 'PATCH', dev, user.key, { metadata: { k: `v${NUL}` } }, 'metadata.k'],
    ['device units', 'PATCH', dev, user.key, { units: { temperature: `C${NUL}` } }, 'units.temperature'],
    ['metadata nested 5,000 deep', 'PATCH', dev, user.key, deep, `metadata.deep${'.n'.repeat(MAX_INPUT_DEPTH - 2)}`],
    ['status reason of a PATCH (the status write would fail after a 200)', 'PATCH', dev, user.key, { status: 'maintenance', status_reason: `r${NUL}` }, 'status_reason'],
    ['rule title', 'POST', `${dev}/alert-rules`, user.key, { metric: 'temperature', operator: '>', threshold: 1, title: `x${NUL}` }, 'title'],
    ['rule alert_type', 'POST', `${dev}/alert-rules`, user.key, { metric: 'temperature', operator: '>', threshold: 1, alert_type: `x${NUL}` }, 'alert_type'],
    ['key description', 'POST', '/api/client/account/api-keys', user.key, { description: `d${NUL}` }, 'description'],
    ['server name', 'PATCH', `/api/application/servers/${serverId}`, ta.adminKey, { name: `s${NUL}` }, 'name'],
    ['server environment', 'PATCH', `/api/application/servers/${serverId}`, ta.adminKey, { environment: { A: `x${NUL}` } }, 'environment.A'],
    ['filter[email]', 'GET', `/api/application/users?filter[email]=a%00b`, ta.adminKey, undefined, 'filter[email]'],
    ['login email (unauthenticated)', 'POST', '/api/auth/login', null, { email: `${ADMIN_EMAIL}${NUL}`, password: 'whatever' }, 'email'],
    ['login property name', 'POST', '/api/auth/login', null, { email: ADMIN_EMAIL, password: 'x', [`p${NUL}`]: 1 }, 'body'],
  ]
  for (const [what, method, path, key, body, field] of cases) {
    const res = await send(method, path, key, body)
    t.equal(res.status, 422, `${what}: 422`)
    t.equal(res.body.errors[0]?.meta?.source_field, field, `${what}: names ${field}`)
    t.match(res.body.errors[0]?.detail, /NUL|nested/, `${what}: says what is wrong`)
  }

  // Ids beyond PostgreSQL's integer range are refused by the schema, not by a failing query.
  const tooBig = 99_999_999_999
  const ranges: Array<[string, string, string, unknown, string]> = [
    ['server owner', 'POST', '/api/application/servers', { name: 'x', user: tooBig, command: process.execPath }, 'user'],
    ['owner_id filter', 'GET', `/api/application/devices?owner_id=${tooBig}`, undefined, 'owner_id'],
  ]
  for (const [what, method, path, body, field] of ranges) {
    const res = await send(method, path, ta.adminKey, body)
    t.equal(res.status, 422, `${what} out of range: 422`)
    t.equal(res.body.errors[0]?.meta?.source_field, field, `${what}: names ${field}`)
  }

  const row = await ta.app.prisma.device.findUniqueOrThrow({ where: { id: device.id } })
  t.match(row, { name: 'probe', type: 'generic', status: 'offline', statusReason: null }, 'nothing of the refused PATCHes was stored')
  const ok = await send('PATCH', dev, user.key, { status: 'maintenance', status_reason: 'firmware update', metadata: { a: { b: { c: 1 } } } })
  t.equal(ok.status, 200, 'a clean PATCH still works')
  t.match(await ta.app.prisma.device.findUniqueOrThrow({ where: { id: device.id } }), { status: 'maintenance', statusReason: 'firmware update' })
})
