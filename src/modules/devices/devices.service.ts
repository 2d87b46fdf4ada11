/**
 * Devices: CRUD for their owners (and a read-only view of every device for administrators),
 * device keys (returned once, stored hashed), and owner-set status. Keeps the directory cache
 * and the status tracker coherent with every change made here.
 */
import type { Prisma } from '../../db/database.js'
import { FieldError, NotFound } from '../../lib/errors.js'
import type { DeviceDirectory } from './device-directory.js'
import { unitsOf } from './device-directory.js'
import { generateDeviceKey } from './device-key.js'
import type { DeviceStatusService } from './device-status.service.js'
import type { MetricCatalogue } from './metric-catalogue.js'

/** Most devices one user may own (a guard against runaway scripts). */
export const MAX_DEVICES_PER_USER = 10_000

export interface DeviceRecord {
  id: number
  ownerId: number
  name: string
  type: string
  metadata: unknown
  units: unknown
  keyIdentifier: string
  status: string
  statusReason: string | null
  lastSeenAt: Date | null
  telemetryRetentionDays: number | null
  createdAt: Date
  updatedAt: Date
  metrics?: Array<{ metric: string; unit: string | null; firstSeenAt: Date; lastSeenAt: Date }>
}

export interface DeviceInput {
  name?: string | undefined
  type?: string | undefined
  metadata?: Record<string, unknown> | undefined
  units?: Record<string, string> | undefined
  telemetry_retention_days?: number | null | undefined
}

type JsonInput = Parameters<Prisma['device']['create']>[0]['data']['metadata']

/** The learned catalogue comes with every device read. */
const withMetrics = { metrics: { orderBy: { metric: 'asc' as const } } }

export function createDevicesService(deps: { prisma: Prisma; directory: DeviceDirectory; status: DeviceStatusService; catalogue: MetricCatalogue }) {
  const { prisma, directory, status, catalogue } = deps

  async function owned(id: number, userId: number | null) {
    const row = await prisma.device.findUnique({ where: { id }, include: withMetrics })
    if (!row || (userId !== null && row.ownerId !== userId)) throw new NotFound()
    return row
  }

  /** Live status and last-seen come from memory when the tracker knows the device (fresher than the row). */
  function attributes(row: DeviceRecord) {
    const live = status.tracker
    const known = live.known(row.id)
    const st = known ? (live.status(row.id) ?? row.status) : row.status
    const seen = known ? live.lastSeen(row.id) : null
    const lastSeen = seen !== null ? new Date(seen) : row.lastSeenAt
    const metrics = row.metrics ?? []
    // Units the device posted, overridden by the ones its owner set.
    const learned: Record<string, string> = {}
    for (const m of metrics) if (m.unit !== null) learned[m.metric] = m.unit
    return {
      id: row.id,
      owner_id: row.ownerId,
      name: row.name,
      type: row.type,
      metadata: (row.metadata && typeof row.metadata === 'object' && !Array.isArray(row.metadata) ? row.metadata : {}) as Record<string, unknown>,
      units: { ...learned, ...unitsOf(row.units) },
      metrics: metrics.map((m) => ({ name: m.metric, unit: m.unit, first_seen_at: m.firstSeenAt.toISOString(), last_seen_at: m.lastSeenAt.toISOString() })),
      telemetry_retention_days: row.telemetryRetentionDays,
      status: st,
      status_reason: row.statusReason,
      last_seen_at: lastSeen ? lastSeen.toISOString() : null,
      key_identifier: row.keyIdentifier,
      created_at: row.createdAt.toISOString(),
      updated_at: row.updatedAt.toISOString(),
    }
  }

  return {
    attributes,

    async list(ownerId: number | null, q: { page: number; per_page: number }) {
      const where = ownerId === null ? {} : { ownerId }
      const [rows, total] = await Promise.all([
        prisma.device.findMany({ where, orderBy: { id: 'asc' }, skip: (q.page - 1) * q.per_page, take: q.per_page, include: withMetrics }),
        prisma.device.count({ where }),
      ])
      return { rows, total }
    },

    /** A device of `userId` (null: any device, for administrators); 404 otherwise. */
    get: owned,

    async create(ownerId: number, input: DeviceInput & { name: string }) {
      const count = await prisma.device.count({ where: { ownerId } })
      if (count >= MAX_DEVICES_PER_USER) throw new FieldError('name', `at most ${MAX_DEVICES_PER_USER} devices per account`, 'max')
      const key = generateDeviceKey()
      const row = await prisma.device.create({
        data: {
          ownerId,
          name: input.name,
          type: input.type ?? 'generic',
          metadata: (input.metadata ?? {}) as JsonInput,
          units: (input.units ?? {}) as JsonInput,
          telemetryRetentionDays: input.telemetry_retention_days ?? null,
          keyIdentifier: key.identifier,
          keySecretHash: key.secretHash,
        },
      })
      directory.remember(row)
      return { row, key: key.key }
    },

    async update(id: number, userId: number, input: DeviceInput & { status?: string | undefined; status_reason?: string | undefined }) {
      await owned(id, userId)
      const row = await prisma.device.update({
        where: { id },
        data: {
          ...(input.name !== undefined ? { name: input.name } : {}),
          ...(input.type !== undefined ? { type: input.type } : {}),
          ...(input.metadata !== undefined ? { metadata: input.metadata as JsonInput } : {}),
          ...(input.units !== undefined ? { units: input.units as JsonInput } : {}),
          ...(input.telemetry_retention_days !== undefined ? { telemetryRetentionDays: input.telemetry_retention_days } : {}),
        },
        include: withMetrics,
      })
      const info = directory.remember(row)
      if (input.status !== undefined) {
        const manual = input.status === 'maintenance' || input.status === 'warning' ? input.status : null
        await status.setManual(info, manual, input.status_reason)
        return (await prisma.device.findUnique({ where: { id }, include: withMetrics })) ?? row
      }
      return row
    },

    /** Replaces the device key; the old one stops working at once on this instance. */
    async rotateKey(id: number, userId: number) {
      await owned(id, userId)
      const key = generateDeviceKey()
      const row = await prisma.device.update({ where: { id }, data: { keyIdentifier: key.identifier, keySecretHash: key.secretHash }, include: withMetrics })
      directory.invalidate(id)
      directory.remember(row)
      return { row, key: key.key }
    },

    async remove(id: number, userId: number) {
      await owned(id, userId)
      // The database removes its telemetry and rollups (a trigger) and everything else (cascades).
      await prisma.device.delete({ where: { id } })
      directory.invalidate(id)
      status.forget(id)
      catalogue.forget(id)
    },
  }
}

export type DevicesService = ReturnType<typeof createDevicesService>
