/**
 * Users: create, read, update, delete and paginated listing, with password hashing and the
 * domain events other modules react to (key/session cache eviction, the user events socket).
 */
import type { Prisma } from '../../db/database.js'
import type { DomainEvents } from '../../lib/domain-events.js'
import { Conflict, FieldError, NotFound } from '../../lib/errors.js'
import { generatePassword, hashPassword, verifyPassword } from '../auth/password.js'

type UserRow = {
  id: number
  uuid: string
  email: string
  username: string | null
  rootAdmin: boolean
  createdAt: Date
  updatedAt: Date
}

export function userAttributes(u: UserRow) {
  return {
    id: u.id,
    uuid: u.uuid,
    username: u.username,
    email: u.email,
    root_admin: u.rootAdmin,
    created_at: u.createdAt.toISOString(),
    updated_at: u.updatedAt.toISOString(),
  }
}

/** What domain events carry: never the row itself, which holds the password hash. */
function userRef(u: { id: number; uuid: string; email: string }) {
  return { id: u.id, uuid: u.uuid, email: u.email }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * Prisma's unique-violation error names the violated constraint: as fields, as the index name
 * (`users_username_key`, what @prisma/adapter-pg reports when Postgres names the constraint), or
 * in meta.target. All of them are searched, so a duplicate username is not reported as email.
 */
function uniqueViolation(err: unknown): string | undefined {
  const e = err as {
    code?: string
    meta?: { target?: unknown; driverAdapterError?: { cause?: { constraint?: { fields?: string[]; index?: string } } } }
  }
  if (e?.code !== 'P2002') return undefined
  const c = e.meta?.driverAdapterError?.cause?.constraint
  const target = e.meta?.target
  const parts = [...(c?.fields ?? []), c?.index, ...(Array.isArray(target) ? target : [target])]
  return parts.filter((p): p is string => typeof p === 'string').join(',') || 'email'
}

export function createUsersService(deps: { prisma: Prisma; events: DomainEvents }) {
  const { prisma, events } = deps

  async function find(ref: string): Promise<UserRow> {
    const id = /^\d{1,10}$/.test(ref) ? Number(ref) : NaN
    const user = UUID_RE.test(ref)
      ? await prisma.user.findUnique({ where: { uuid: ref.toLowerCase() } })
      : id <= 2_147_483_647
        ? await prisma.user.findUnique({ where: { id } })
        : null
    if (!user) throw new NotFound()
    return user
  }

  function rethrowUnique(err: unknown): never {
    const field = uniqueViolation(err)
    if (field?.includes('username')) throw new FieldError('username', 'The username has already been taken.', 'unique')
    if (field) throw new FieldError('email', 'The email has already been taken.', 'unique')
    throw err
  }

  /**
   * A new password ends every browser session of the user (and the sockets opened from them),
   * except `keepSessionId`: the session the user changed their own password from.
   */
  async function endSessions(user: UserRow, keepSessionId?: number) {
    const where = { userId: user.id, ...(keepSessionId !== undefined ? { id: { not: keepSessionId } } : {}) }
    const sessions = await prisma.session.findMany({ where, select: { id: true } })
    if (sessions.length === 0) return
    await prisma.session.deleteMany({ where: { id: { in: sessions.map((s) => s.id) } } })
    for (const { id } of sessions) events.emit('session.ended', { user: userRef(user), sessionId: id, at: new Date() })
  }

  return {
    find,

    async list(q: { page: number; per_page: number; email?: string; uuid?: string; username?: string; sort?: string }) {
      const where = {
        ...(q.email ? { email: { contains: q.email.toLowerCase() } } : {}),
        ...(q.uuid ? { uuid: UUID_RE.test(q.uuid) ? q.uuid.toLowerCase() : '00000000-0000-0000-0000-000000000000' } : {}),
        ...(q.username ? { username: { contains: q.username } } : {}),
      }
      const sort = q.sort ?? 'id'
      const field = sort.replace(/^-/, '') === 'created_at' ? 'createdAt' : (sort.replace(/^-/, '') as 'id' | 'email')
      const [total, rows] = await prisma.$transaction([
        prisma.user.count({ where }),
        prisma.user.findMany({
          where,
          orderBy: { [field]: sort.startsWith('-') ? 'desc' : 'asc' },
          skip: (q.page - 1) * q.per_page,
          take: q.per_page,
        }),
      ])
      return { total, rows }
    },

    /** Creates a user; without a password a random one is set (the user cannot log in until an admin sets one). */
    async create(input: { email: string; username?: string | undefined; password?: string | undefined; rootAdmin?: boolean | undefined }) {
      const passwordHash = await hashPassword(input.password ?? generatePassword())
      try {
        const user = await prisma.user.create({
          data: {
            email: input.email.trim().toLowerCase(),
            username: input.username ?? null,
            passwordHash,
            rootAdmin: input.rootAdmin ?? false,
          },
        })
        events.emit('user.created', { user: userRef(user), at: user.createdAt })
        return user
      } catch (err) {
        rethrowUnique(err)
      }
    },

    async update(ref: string, input: { email?: string; username?: string | null; password?: string; root_admin?: boolean }) {
      const existing = await find(ref)
      try {
        const user = await prisma.user.update({
          where: { id: existing.id },
          data: {
            ...(input.email !== undefined ? { email: input.email.trim().toLowerCase() } : {}),
            ...(input.username !== undefined ? { username: input.username } : {}),
            ...(input.password !== undefined ? { passwordHash: await hashPassword(input.password) } : {}),
            ...(input.root_admin !== undefined ? { rootAdmin: input.root_admin } : {}),
          },
        })
        events.emit('user.updated', { user: userRef(user), at: user.updatedAt })
        if (input.password !== undefined) await endSessions(user)
        return user
      } catch (err) {
        rethrowUnique(err)
      }
    },

    /**
     * A user's own password change: the current password must match (a stolen session alone
     * cannot take the account over); every other session ends, the one in use stays.
     */
    async changeOwnPassword(userId: number, input: { current: string; next: string; keepSessionId?: number | undefined }) {
      const user = await prisma.user.findUnique({ where: { id: userId } })
      if (!user) throw new NotFound()
      if (!(await verifyPassword(input.current, user.passwordHash))) {
        throw new FieldError('current_password', 'The current password is not correct.', 'current_password')
      }
      const updated = await prisma.user.update({ where: { id: user.id }, data: { passwordHash: await hashPassword(input.next) } })
      events.emit('user.updated', { user: userRef(updated), at: updated.updatedAt })
      await endSessions(updated, input.keepSessionId)
    },

    async remove(ref: string, actingUserId: number) {
      const user = await find(ref)
      if (user.id === actingUserId) throw new FieldError('user', 'You cannot delete your own account.', 'self')
      // Servers are not deleted with their owner (their processes and files matter): refuse.
      if ((await prisma.server.count({ where: { ownerId: user.id } })) > 0) {
        throw new Conflict('This user still owns servers; delete them or give them another owner first.')
      }
      await prisma.user.delete({ where: { id: user.id } })
      events.emit('user.deleted', { user: userRef(user), at: new Date() })
    },
  }
}

export type UsersService = ReturnType<typeof createUsersService>
