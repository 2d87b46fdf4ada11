/**
 * Device status with its side effects: decides transitions through the pure StatusTracker,
 * persists each one (the device row and a DeviceStatusEvent, in one transaction) and then
 * publishes it once as `device_status_update` on the reliable lane. Transitions of one device
 * are applied in order through a per-device promise chain. One sweep timer serves every device;
 * last-seen times are kept in memory and flushed in one statement periodically.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Database, Prisma } from '../../db/database.js'
import type { Hub } from '../realtime/hub.js'
import { CODEC, deviceTopics, type DeviceStatusPayload } from '../channels/channels.topics.js'
import type { DeviceInfo } from './device-directory.js'
import { StatusTracker, type DeviceStatus, type ManualStatus, type Transition } from './device-status.js'

export interface DeviceStatusDeps {
  prisma: Prisma
  db: Database
  hub: Hub
  log: FastifyBaseLogger
  offlineAfterSec: number
  /** Last-seen flush period (default 15 s). */
  flushEveryMs?: number
}

export function createDeviceStatusService(deps: DeviceStatusDeps) {
  const { prisma, db, hub, log } = deps
  const tracker = new StatusTracker(deps.offlineAfterSec * 1000)
  const chains = new Map<number, Promise<void>>()
  let lastFlush = 0
  let sweepTimer: NodeJS.Timeout | null = null
  let flushTimer: NodeJS.Timeout | null = null

  function ensure(info: DeviceInfo, now: number): void {
    if (!tracker.known(info.id)) tracker.load(info.id, info.ownerId, info.status, info.lastSeenAt, now)
  }

  async function persist(t: Transition): Promise<void> {
    const at = new Date(t.at)
    const lastSeen = t.lastSeen === null ? null : new Date(t.lastSeen)
    const metadata = { last_seen: lastSeen ? lastSeen.toISOString() : null }
    try {
      await prisma.$transaction([
        prisma.device.updateMany({
          where: { id: t.deviceId },
          data: { status: t.to, statusReason: t.reason, statusChangedAt: at, ...(lastSeen ? { lastSeenAt: lastSeen } : {}) },
        }),
        prisma.deviceStatusEvent.create({
          data: { deviceId: t.deviceId, oldStatus: t.from, newStatus: t.to, reason: t.reason, metadata, createdAt: at },
        }),
      ])
    } catch (err) {
      // The device was deleted meanwhile (foreign key): nothing to publish.
      if ((err as { code?: string }).code === 'P2003') return
      throw err
    }
    const payload: DeviceStatusPayload = {
      device_id: t.deviceId,
      old_status: t.from,
      new_status: t.to,
      timestamp: at.toISOString(),
      reason: t.reason,
      metadata,
    }
    hub.publish({ topics: deviceTopics('devices', t.deviceId, t.ownerId), codec: CODEC.deviceStatus, payload, lane: 'reliable' })
  }

  /** Queues a transition behind the device's previous ones; resolves once published. */
  function apply(t: Transition): Promise<void> {
    const prev = chains.get(t.deviceId) ?? Promise.resolve()
    const next = prev
      .then(() => persist(t))
      .catch((err) => log.error({ err, deviceId: t.deviceId }, 'could not record a device status change'))
    chains.set(t.deviceId, next)
    void next.then(() => {
      if (chains.get(t.deviceId) === next) chains.delete(t.deviceId)
    })
    return next
  }

  function sweep(): void {
    for (const t of tracker.sweep(Date.now())) void apply(t)
  }

  async function flushLastSeen(): Promise<void> {
    const since = lastFlush
    lastFlush = Date.now()
    const seen = tracker.seenSince(since)
    if (seen.length === 0) return
    try {
      await db.query(
        `update devices d set last_seen_at = s.at from unnest($1::int[], $2::timestamptz[]) as s(id, at)
          where d.id = s.id and (d.last_seen_at is null or d.last_seen_at < s.at)`,
        [seen.map((s) => s[0]), seen.map((s) => new Date(s[1]).toISOString())],
      )
    } catch (err) {
      log.warn({ err }, 'could not record device last-seen times')
    }
  }

  return {
    tracker,

    /** Starts the sweep: devices stored as online get one window from now to send data. */
    async start(): Promise<void> {
      const now = Date.now()
      const rows = await prisma.device.findMany({ where: { status: 'online' }, select: { id: true, ownerId: true, lastSeenAt: true } })
      for (const r of rows) if (!tracker.known(r.id)) tracker.load(r.id, r.ownerId, 'online', r.lastSeenAt?.getTime() ?? null, now)
      const sweepMs = Math.min(5000, Math.max(100, Math.floor(tracker.offlineAfterMs / 4)))
      sweepTimer = setInterval(sweep, sweepMs)
      sweepTimer.unref()
      flushTimer = setInterval(() => void flushLastSeen(), deps.flushEveryMs ?? 15_000)
      flushTimer.unref()
    },

    /** A reading from this device was stored. */
    seen(info: DeviceInfo, now: number): void {
      ensure(info, now)
      const t = tracker.seen(info.id, now)
      if (t) void apply(t)
    },

    current(info: DeviceInfo): { status: DeviceStatus; lastSeen: number | null } {
      ensure(info, Date.now())
      return { status: tracker.status(info.id) ?? 'offline', lastSeen: tracker.lastSeen(info.id) }
    },

    /** Owner sets maintenance/warning or clears it (null); resolves after it is published. */
    async setManual(info: DeviceInfo, status: ManualStatus | null, reason?: string): Promise<void> {
      const now = Date.now()
      ensure(info, now)
      const t = tracker.setManual(info.id, status, now, reason)
      if (t) await apply(t)
    },

    forget(deviceId: number): void {
      tracker.forget(deviceId)
    },

    async stop(): Promise<void> {
      if (sweepTimer) clearInterval(sweepTimer)
      if (flushTimer) clearInterval(flushTimer)
      await Promise.all([...chains.values()])
      await flushLastSeen()
    },
  }
}

export type DeviceStatusService = ReturnType<typeof createDeviceStatusService>
