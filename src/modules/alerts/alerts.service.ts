/**
 * Alerts: raised by rule breaches (the row is written BEFORE the `alert` message is published,
 * so a client that sees an alert can always fetch it, and one that missed it catches up with
 * `since=<alert_id>`), listed with filters, acknowledged and resolved (who and when).
 */
import type { Prisma } from '../../db/database.js'
import { Conflict, NotFound } from '../../lib/errors.js'
import type { Hub } from '../realtime/hub.js'
import { deviceTopics } from '../devices/devices.topics.js'
import { ALERT_CODEC, ALERT_STATUS_CODEC, type AlertPayload, type AlertStatusPayload } from './alerts.messages.js'

export const ALERT_STATUSES = ['open', 'acknowledged', 'resolved'] as const

export interface AlertRow {
  id: number
  ruleId: number | null
  deviceId: number
  severity: string
  alertType: string
  title: string
  message: string
  metadata: unknown
  status: string
  acknowledgedById: number | null
  acknowledgedAt: Date | null
  resolvedById: number | null
  resolvedAt: Date | null
  createdAt: Date
}

export interface RaiseInput {
  ruleId: number | null
  deviceId: number
  ownerId: number
  severity: string
  alertType: string
  title: string
  message: string
  metadata: Record<string, unknown>
}

export interface AlertFilters {
  severity?: string[] | undefined
  device_id?: number | undefined
  status?: string[] | undefined
  since?: number | undefined
}

type JsonInput = Parameters<Prisma['alert']['create']>[0]['data']['metadata']

export function alertAttributes(a: AlertRow) {
  return {
    id: a.id,
    rule_id: a.ruleId,
    device_id: a.deviceId,
    severity: a.severity,
    alert_type: a.alertType,
    title: a.title,
    message: a.message,
    metadata: (a.metadata && typeof a.metadata === 'object' ? a.metadata : {}) as Record<string, unknown>,
    status: a.status,
    acknowledged_by: a.acknowledgedById,
    acknowledged_at: a.acknowledgedAt ? a.acknowledgedAt.toISOString() : null,
    resolved_by: a.resolvedById,
    resolved_at: a.resolvedAt ? a.resolvedAt.toISOString() : null,
    created_at: a.createdAt.toISOString(),
  }
}

export function createAlertsService(deps: { prisma: Prisma; hub: Hub }) {
  const { prisma, hub } = deps

  /** Who may see an alert: its device's owner, or any administrator. */
  function scope(user: { id: number; rootAdmin: boolean }) {
    return user.rootAdmin ? {} : { device: { ownerId: user.id } }
  }

  async function find(id: number, user: { id: number; rootAdmin: boolean }) {
    const row = await prisma.alert.findFirst({ where: { id, ...scope(user) } })
    if (!row) throw new NotFound()
    return row
  }

  /**
   * A status change made by a user, on the reliable lane like the automatic ones, to the same
   * topics as the alert itself (its device's owner may not be the user who changed it).
   */
  async function publishStatus(a: AlertRow, status: 'acknowledged' | 'resolved', by: number, at: Date): Promise<void> {
    const device = await prisma.device.findUnique({ where: { id: a.deviceId }, select: { ownerId: true } })
    if (!device) return
    const payload: AlertStatusPayload = { alert_id: a.id, device_id: a.deviceId, status, by, automatic: false, timestamp: at.toISOString(), severity: a.severity, alert_type: a.alertType }
    hub.publish({ topics: deviceTopics('alerts', a.deviceId, device.ownerId), codec: ALERT_STATUS_CODEC, payload, lane: 'reliable' })
  }

  return {
    /** Stores the alert, then publishes it once on the reliable lane. */
    async raise(input: RaiseInput): Promise<AlertRow> {
      const row = await prisma.alert.create({
        data: {
          ruleId: input.ruleId,
          deviceId: input.deviceId,
          severity: input.severity,
          alertType: input.alertType,
          title: input.title,
          message: input.message,
          metadata: input.metadata as JsonInput,
        },
      })
      const payload: AlertPayload & { owner_id: number } = {
        alert_id: row.id,
        device_id: row.deviceId,
        owner_id: input.ownerId,
        severity: row.severity,
        title: row.title,
        message: row.message,
        timestamp: row.createdAt.toISOString(),
        alert_type: row.alertType,
        metadata: input.metadata,
      }
      hub.publish({ topics: deviceTopics('alerts', row.deviceId, input.ownerId), codec: ALERT_CODEC, payload, lane: 'reliable' })
      return row
    },

    /**
     * Resolves the rule's unresolved alerts (the value went back past its clear threshold) and
     * publishes each change on the reliable lane, like any status change.
     */
    async autoResolve(ruleId: number, deviceId: number, ownerId: number): Promise<number> {
      const open = await prisma.alert.findMany({ where: { ruleId, deviceId, status: { not: 'resolved' } }, select: { id: true, severity: true, alertType: true } })
      if (open.length === 0) return 0
      const now = new Date()
      await prisma.alert.updateMany({ where: { id: { in: open.map((a) => a.id) }, status: { not: 'resolved' } }, data: { status: 'resolved', resolvedAt: now } })
      for (const a of open) {
        const payload: AlertStatusPayload = { alert_id: a.id, device_id: deviceId, status: 'resolved', by: null, automatic: true, timestamp: now.toISOString(), severity: a.severity, alert_type: a.alertType }
        hub.publish({ topics: deviceTopics('alerts', deviceId, ownerId), codec: ALERT_STATUS_CODEC, payload, lane: 'reliable' })
      }
      return open.length
    },

    async list(user: { id: number; rootAdmin: boolean }, f: AlertFilters, q: { page: number; per_page: number }) {
      const where = {
        ...scope(user),
        ...(f.severity?.length ? { severity: { in: f.severity } } : {}),
        ...(f.status?.length ? { status: { in: f.status } } : {}),
        ...(f.device_id !== undefined ? { deviceId: f.device_id } : {}),
        ...(f.since !== undefined ? { id: { gt: f.since } } : {}),
      }
      // Catching up (since=) reads forward in id order; otherwise newest first.
      const orderBy = { id: f.since !== undefined ? ('asc' as const) : ('desc' as const) }
      const [rows, total] = await Promise.all([
        prisma.alert.findMany({ where, orderBy, skip: (q.page - 1) * q.per_page, take: q.per_page }),
        prisma.alert.count({ where }),
      ])
      return { rows, total }
    },

    get: find,

    /**
     * Acknowledges an open alert and publishes the change. The update is conditional on the
     * status it read, so of two concurrent calls only the one that changed the row publishes.
     */
    async acknowledge(id: number, user: { id: number; rootAdmin: boolean }) {
      const row = await find(id, user)
      if (row.status === 'resolved') throw new Conflict('This alert is already resolved.')
      if (row.status === 'acknowledged') return row
      const now = new Date()
      const changed = await prisma.alert.updateMany({ where: { id, status: 'open' }, data: { status: 'acknowledged', acknowledgedById: user.id, acknowledgedAt: now } })
      if (changed.count === 1) await publishStatus(row, 'acknowledged', user.id, now)
      return find(id, user)
    },

    /** Resolves an alert (acknowledging it too if nobody had) and publishes the change. */
    async resolve(id: number, user: { id: number; rootAdmin: boolean }) {
      const row = await find(id, user)
      if (row.status === 'resolved') return row
      const now = new Date()
      const changed = await prisma.alert.updateMany({
        where: { id, status: row.status },
        data: {
          status: 'resolved',
          resolvedById: user.id,
          resolvedAt: now,
          ...(row.acknowledgedAt ? {} : { acknowledgedById: user.id, acknowledgedAt: now }),
        },
      })
      if (changed.count === 1) await publishStatus(row, 'resolved', user.id, now)
      return find(id, user)
    },
  }
}

export type AlertsService = ReturnType<typeof createAlertsService>
