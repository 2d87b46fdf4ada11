/**
 * Queries of the servers module: servers, subusers and the activity log. Thin on purpose; the
 * service owns the rules. Every function takes the Prisma client so a caller can pass a
 * transaction.
 */
import type { Prisma } from '../../db/database.js'
import type { Server } from '../../generated/prisma/client.js'

export type ServerRow = Server

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
export const SHORT_RE = /^[0-9a-f]{8}$/i

/** `where` for a uuid, an 8-character short id or (when allowed) a numeric id; null if none fits. */
export function serverWhere(ref: string, allowNumeric: boolean): { uuid: string } | { uuidShort: string } | { id: number } | null {
  if (UUID_RE.test(ref)) return { uuid: ref.toLowerCase() }
  if (SHORT_RE.test(ref)) return { uuidShort: ref.toLowerCase() }
  if (allowNumeric && /^\d{1,9}$/.test(ref)) return { id: Number(ref) }
  return null
}

export function createServersRepository(prisma: Prisma) {
  return {
    async find(ref: string, allowNumeric = false): Promise<ServerRow | null> {
      const where = serverWhere(ref, allowNumeric)
      return where ? prisma.server.findUnique({ where }) : null
    },

    allOnNode(node: string): Promise<ServerRow[]> {
      return prisma.server.findMany({ where: { node }, orderBy: { id: 'asc' } })
    },

    count(): Promise<number> {
      return prisma.server.count()
    },

    async page(where: object, q: { page: number; per_page: number }) {
      const [total, rows] = await prisma.$transaction([
        prisma.server.count({ where }),
        prisma.server.findMany({ where, orderBy: { id: 'asc' }, skip: (q.page - 1) * q.per_page, take: q.per_page }),
      ])
      return { total, rows }
    },

    create(data: Parameters<Prisma['server']['create']>[0]['data']): Promise<ServerRow> {
      return prisma.server.create({ data })
    },

    update(id: number, data: Parameters<Prisma['server']['update']>[0]['data']): Promise<ServerRow> {
      return prisma.server.update({ where: { id }, data })
    },

    async remove(id: number): Promise<void> {
      await prisma.server.delete({ where: { id } })
    },

    async setDesired(uuid: string, desiredState: string): Promise<void> {
      await prisma.server.updateMany({ where: { uuid, desiredState: { not: desiredState } }, data: { desiredState } })
    },

    userById(id: number) {
      return prisma.user.findUnique({ where: { id }, select: { id: true, uuid: true, email: true, username: true, rootAdmin: true } })
    },

    userByEmail(email: string) {
      return prisma.user.findUnique({ where: { email: email.trim().toLowerCase() } })
    },

    userByUuid(uuid: string) {
      return UUID_RE.test(uuid) ? prisma.user.findUnique({ where: { uuid: uuid.toLowerCase() } }) : Promise.resolve(null)
    },

    subuser(serverId: number, userId: number) {
      return prisma.subuser.findUnique({ where: { serverId_userId: { serverId, userId } } })
    },

    subusers(serverId: number) {
      return prisma.subuser.findMany({ where: { serverId }, include: { user: true }, orderBy: { id: 'asc' } })
    },

    createSubuser(serverId: number, userId: number, permissions: string[]) {
      return prisma.subuser.create({ data: { serverId, userId, permissions }, include: { user: true } })
    },

    updateSubuser(id: number, permissions: string[]) {
      return prisma.subuser.update({ where: { id }, data: { permissions }, include: { user: true } })
    },

    async deleteSubuser(id: number): Promise<void> {
      await prisma.subuser.delete({ where: { id } })
    },

    async logActivity(entry: { serverId: number; actorId: number | null; actorEmail: string | null; event: string; properties: object; ip: string | null }) {
      await prisma.activityLog.create({ data: { ...entry, properties: entry.properties as never } })
    },

    async activity(serverId: number, q: { page: number; per_page: number }) {
      const where = { serverId }
      const [total, rows] = await prisma.$transaction([
        prisma.activityLog.count({ where }),
        prisma.activityLog.findMany({ where, orderBy: { id: 'desc' }, skip: (q.page - 1) * q.per_page, take: q.per_page }),
      ])
      return { total, rows }
    },
  }
}

export type ServersRepository = ReturnType<typeof createServersRepository>
