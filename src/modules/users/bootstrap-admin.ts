/**
 * First start only: when the users table is empty, create the administrator from ADMIN_EMAIL,
 * ADMIN_PASSWORD and ADMIN_API_KEY, generating what is missing. Generated secrets are printed
 * once, clearly marked, because there is no other way to hand them to the operator; a later
 * start finds a user and does nothing.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config/config.schema.js'
import type { Prisma } from '../../db/database.js'
import { KEY_TYPE_APPLICATION } from '../auth/api-key.format.js'
import type { ApiKeyService } from '../auth/api-keys.service.js'
import { generatePassword } from '../auth/password.js'
import type { UsersService } from './users.service.js'

export async function bootstrapAdmin(deps: {
  cfg: Pick<Config, 'ADMIN_EMAIL' | 'ADMIN_PASSWORD' | 'ADMIN_API_KEY'>
  prisma: Prisma
  users: UsersService
  apiKeys: ApiKeyService
  log: FastifyBaseLogger
}): Promise<{ created: boolean; userId?: number }> {
  const { cfg, prisma, users, apiKeys, log } = deps
  if ((await prisma.user.count()) > 0) return { created: false }
  const email = cfg.ADMIN_EMAIL ?? 'admin@wirehub.local'
  const password = cfg.ADMIN_PASSWORD ?? generatePassword()
  let user
  try {
    user = await users.create({ email, username: 'admin', password, rootAdmin: true })
  } catch (err) {
    // Another instance bootstrapped the same database at the same moment.
    if ((await prisma.user.count()) > 0) return { created: false }
    throw err
  }
  const { key } = await apiKeys.create(user, KEY_TYPE_APPLICATION, { description: 'bootstrap administrator key' }, cfg.ADMIN_API_KEY)
  const shown = [
    `email:            ${email}`,
    cfg.ADMIN_PASSWORD ? 'password:         (from ADMIN_PASSWORD)' : `password:         ${password}`,
    cfg.ADMIN_API_KEY ? 'application key:  (from ADMIN_API_KEY)' : `application key:  ${key}`,
  ]
  log.warn(
    '\n' +
      '================ wirehub: administrator created (shown once) ================\n' +
      shown.map((l) => `  ${l}\n`).join('') +
      '  Store these now; they are not shown again and only their hashes are kept.\n' +
      '=============================================================================',
  )
  return { created: true, userId: user.id }
}
