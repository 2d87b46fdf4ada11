/**
 * First start only: when the users table is empty, create the administrator from ADMIN_EMAIL,
 * ADMIN_PASSWORD and ADMIN_API_KEY, generating what is missing. The check and the creation run
 * under a cluster-wide lock, so when several instances start on one empty database exactly one
 * creates the administrator and the others find it. Generated secrets are handed back (never
 * logged) for `server.ts` to print once, plainly, when the server listens: there is no other way
 * to give them to the operator; a later start finds a user and does nothing.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config/config.schema.js'
import type { Database } from '../../db/database.js'
import { KEY_TYPE_APPLICATION } from '../auth/api-key.format.js'
import type { ApiKeyService } from '../auth/api-keys.service.js'
import { generatePassword } from '../auth/password.js'
import type { UsersService } from './users.service.js'

/** pg_advisory_lock key of the bootstrap ("wh-boot" in ASCII, within int4 range for readability in pg_locks). */
export const BOOTSTRAP_LOCK_KEY = 0x77686274

export interface AdminCredentials {
  email: string
  /** The generated password; undefined when it came from ADMIN_PASSWORD. */
  password?: string
  /** The generated application key; undefined when it came from ADMIN_API_KEY. */
  apiKey?: string
}

export async function bootstrapAdmin(deps: {
  cfg: Pick<Config, 'ADMIN_EMAIL' | 'ADMIN_PASSWORD' | 'ADMIN_API_KEY'>
  db: Pick<Database, 'prisma' | 'withLock'>
  users: UsersService
  apiKeys: ApiKeyService
  log: FastifyBaseLogger
}): Promise<{ created: boolean; userId?: number; credentials?: AdminCredentials }> {
  const { cfg, db, users, apiKeys, log } = deps
  const prisma = db.prisma
  if ((await prisma.user.count()) > 0) return { created: false }
  return db.withLock(BOOTSTRAP_LOCK_KEY, async () => {
    if ((await prisma.user.count()) > 0) return { created: false }
    const email = cfg.ADMIN_EMAIL ?? 'admin@wirehub.local'
    const password = cfg.ADMIN_PASSWORD ?? generatePassword()
    const user = await users.create({ email, username: 'admin', password, rootAdmin: true })
    const { key } = await apiKeys.create(user, KEY_TYPE_APPLICATION, { description: 'bootstrap administrator key' }, cfg.ADMIN_API_KEY)
    log.info({ email, passwordSource: cfg.ADMIN_PASSWORD ? 'ADMIN_PASSWORD' : 'generated', keySource: cfg.ADMIN_API_KEY ? 'ADMIN_API_KEY' : 'generated' }, 'administrator created')
    const credentials: AdminCredentials = { email }
    if (!cfg.ADMIN_PASSWORD) credentials.password = password
    if (!cfg.ADMIN_API_KEY) credentials.apiKey = key
    return { created: true, userId: user.id, credentials }
  })
}

/** The block printed once on the first start: where to go, and the credentials, plainly. */
export function credentialsBlock(creds: AdminCredentials, url: string): string {
  const lines = [
    `Open ${url}/ and sign in with:`,
    `  email:            ${creds.email}`,
    `  password:         ${creds.password ?? '(the one in ADMIN_PASSWORD)'}`,
    `  application key:  ${creds.apiKey ?? '(the one in ADMIN_API_KEY)'}   (Authorization: Bearer …, API docs at ${url}/docs)`,
  ]
  if (creds.password || creds.apiKey) {
    lines.push('Store these now: they are not shown again (only their hashes are kept).')
    lines.push('Lost the password? npm run admin:reset-password -- <email> sets a new one (embedded mode: stop wirehub first).')
  }
  const title = ' wirehub: administrator created (shown once) '
  const width = 76
  const left = Math.floor((width - title.length) / 2)
  const header = '='.repeat(left) + title + '='.repeat(width - left - title.length)
  return ['', header, ...lines.map((l) => `  ${l}`), '='.repeat(width), ''].join('\n') + '\n'
}
