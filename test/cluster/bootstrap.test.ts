/**
 * Several instances starting at once on one empty database (as `deploy/compose.scale.yml` does):
 * exactly one creates the administrator and hands back its generated credentials, the others
 * find it, whatever the order; the one administrator has one application key, and with the same
 * ADMIN_* on every instance the configured password is the one that works.
 */
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config/config.js'
import type { AdminCredentials } from '../../src/modules/users/bootstrap-admin.js'
import { freshDatabase } from '../helper.js'

const SECRET = 'bootstrap-race-secret-bootstrap-race-0123'

async function startTogether(t: Test, databaseUrl: string, instances: number, env: Record<string, string> = {}) {
  const created: AdminCredentials[] = []
  const apps = await Promise.all(
    Array.from({ length: instances }, async (_, i) => {
      const dataDir = mkdtempSync(join(tmpdir(), `wirehub-boot-${i}-`))
      t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
      const config = loadConfig({ env: { DATABASE_URL: databaseUrl, DATA_DIR: dataDir, PORT: '0', SOCKET_TOKEN_SECRET: SECRET, NODE_NAME: `node-${i}`, ...env }, dotenv: false })
      const app = await buildApp(config, { logger: false, onAdminCreated: (c) => void created.push(c) })
      t.teardown(() => app.close())
      return app
    }),
  )
  await Promise.all(apps.map((a) => a.ready()))
  return { apps, created }
}

t.test('three instances on one empty database bootstrap one administrator', async (t) => {
  for (let round = 1; round <= 3; round++) {
    const { apps, created } = await startTogether(t, await freshDatabase(t), 3)
    t.equal(created.length, 1, `round ${round}: exactly one instance created the administrator and reported credentials`)
    t.ok(created[0]?.password && created[0]?.apiKey, 'with the generated password and application key')
    const prisma = apps[0]!.prisma
    t.equal(await prisma.user.count(), 1, 'one user')
    t.equal(await prisma.apiKey.count(), 1, 'one application key')
    const res = await apps[2]!.inject({ url: '/api/application/users', headers: { authorization: `Bearer ${created[0]!.apiKey}` } })
    t.equal(res.statusCode, 200, 'the reported key works on every instance')
  }
})

t.test('the same ADMIN_* on every instance: the configured password works whoever wins', async (t) => {
  const email = 'ops@example.test'
  const password = 'configured password for every instance'
  const { apps, created } = await startTogether(t, await freshDatabase(t), 2, { ADMIN_EMAIL: email, ADMIN_PASSWORD: password })
  t.equal(created.length, 1)
  t.equal(created[0]?.password, undefined, 'no generated password to print: it came from ADMIN_PASSWORD')
  for (const app of apps) {
    const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password } })
    t.equal(login.statusCode, 200, 'the configured password signs in')
  }
})
