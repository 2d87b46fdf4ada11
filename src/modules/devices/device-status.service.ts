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
import { DEVICE_STATUS_CODEC, type DeviceStatusPayload } from './devices.messages.js'
import { deviceTopics } from './devices.topics.js'
import type { DeviceInfo } from './device-directory.js'
import { REASON_LOST, StatusTracker, type DeviceStatus, type ManualStatus, type Transition } from './device-status.js'

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

  /**
   * Records a transition with a compare-and-set on the stored status, in one statement: when
   * several instances share the database (REDIS_URL scale-out), exactly one of them records and
   * publishes each transition; the others find the status already changed and resynchronise.
   * An offline transition also requires the stored last-seen time to be old, so an instance
   * that saw no data cannot take a device offline while another instance receives its data.
   */
  async function persist(t: Transition): Promise<void> {
    const at = new Date(t.at)
    const lastSeen = t.lastSeen === null ? null : new Date(t.lastSeen)
    const metadata = { last_seen: lastSeen ? lastSeen.toISOString() : null }
    // A disconnect is a fact, not an inference from silence: only the silence sweep needs the check.
    const staleBefore = t.to === 'offline' && t.reason === REASON_LOST ? new Date(t.at - tracker.offlineAfterMs) : null
    const rows = await db.query<{ id: number }>(
      `with upd as (
         update devices set status = $2, status_reason = $3, status_changed_at = $4,
                last_seen_at = case when $5::timestamptz is not null and (last_seen_at is null or last_seen_at < $5::timestamptz) then $5::timestamptz else last_seen_at end
          where id = $1 and status = $6
            and ($7::timestamptz is null or last_seen_at is null or last_seen_at < $7::timestamptz)
          returning id)
       insert into device_status_events (device_id, old_status, new_status, reason, metadata, created_at)
       select id, $6, $2, $3, $8::jsonb, $4 from upd
       returning id`,
      [t.deviceId, t.to, t.reason, at.toISOString(), lastSeen?.toISOString() ?? null, t.from, staleBefore?.toISOString() ?? null, JSON.stringify(metadata)],
    )
    if (rows.length === 0) {
      // Another instance recorded a transition first, or the device is gone: adopt the stored state.
      const row = await prisma.device.findUnique({ where: { id: t.deviceId }, select: { ownerId: true, status: true, lastSeenAt: true } })
      tracker.forget(t.deviceId)
      if (row) tracker.load(t.deviceId, row.ownerId, row.status as DeviceStatus, row.lastSeenAt?.getTime() ?? null, Date.now())
      return
    }
    const payload: DeviceStatusPayload = {
      device_id: t.deviceId,
      old_status: t.from,
      new_status: t.to,
      timestamp: at.toISOString(),
      reason: t.reason,
      metadata,
    }
    hub.publish({ topics: deviceTopics('devices', t.deviceId, t.ownerId), codec: DEVICE_STATUS_CODEC, payload, lane: 'reliable' })
  }

  /**
   * Queues a transition behind the device's previous ones. The returned promise settles once it
   * is published, or rejects when it could not be recorded (then the device's state is reloaded
   * from the database on next use, so memory does not claim a status that was never stored);
   * the chain itself always goes on.
   */
  function apply(t: Transition): Promise<void> {
    const prev = chains.get(t.deviceId) ?? Promise.resolve()
    const run = prev.then(() => persist(t))
    const next = run.catch((err) => {
      tracker.forget(t.deviceId)
      log.error({ err, deviceId: t.deviceId }, 'could not record a device status change')
    })
    chains.set(t.deviceId, next)
    void next.then(() => {
      if (chains.get(t.deviceId) === next) chains.delete(t.deviceId)
    })
    return run
  }

  /** For transitions nobody waits on (readings, the sweep): failures are logged by `apply`. */
  function applyInBackground(t: Transition): void {
    apply(t).catch(() => {})
  }

  function sweep(): void {
    for (const t of tracker.sweep(Date.now())) applyInBackground(t)
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
      // Other instances judge silence by the stored last-seen time: keep it well inside the window.
      flushTimer = setInterval(() => void flushLastSeen(), deps.flushEveryMs ?? Math.max(100, Math.min(15_000, Math.floor(tracker.offlineAfterMs / 3))))
      flushTimer.unref()
    },

    /** A reading from this device was stored. */
    seen(info: DeviceInfo, now: number): void {
      ensure(info, now)
      const t = tracker.seen(info.id, now)
      if (t) applyInBackground(t)
    },

    /** The device's connection ended; resolves once the offline transition (if any) is published. */
    async disconnected(info: DeviceInfo, reason: string): Promise<void> {
      const now = Date.now()
      ensure(info, now)
      const t = tracker.disconnected(info.id, now, reason)
      if (t) await apply(t)
    },

    current(info: DeviceInfo): { status: DeviceStatus; lastSeen: number | null } {
      ensure(info, Date.now())
      return { status: tracker.status(info.id) ?? 'offline', lastSeen: tracker.lastSeen(info.id) }
    },

    /** Owner sets maintenance/warning or clears it (null); resolves after it is published, rejects if it was not recorded. */
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
