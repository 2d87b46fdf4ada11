/**
 * Device status as a small state machine, pure (time comes from the caller, no timers, no I/O),
 * so it can be tested directly and transitions are decided synchronously: whatever the number
 * of concurrent readings, each change happens once, which is what keeps status from flapping.
 *
 * - `online`/`offline` follow liveness: a reading makes an offline device online; an online
 *   device silent for `offlineAfterMs` becomes offline ("Connection lost").
 * - `maintenance`/`warning` are set by the owner and are sticky: liveness does not override them
 *   (readings still update last-seen) until the owner clears them, which lands on online or
 *   offline depending on whether the device was seen within the window.
 *
 * Online devices are kept in a Map ordered by last reading (delete + set on every reading), so a
 * sweep walks only the devices that have gone silent and stops at the first live one: one timer
 * for every device, O(expired) per sweep.
 */
export const DEVICE_STATUSES = ['online', 'offline', 'maintenance', 'warning'] as const
export type DeviceStatus = (typeof DEVICE_STATUSES)[number]
export type ManualStatus = 'maintenance' | 'warning'

export const REASON_DATA = 'Data received'
export const REASON_LOST = 'Connection lost'
export const REASON_DISCONNECTED = 'Disconnected'

export interface Transition {
  deviceId: number
  ownerId: number
  from: DeviceStatus
  to: DeviceStatus
  reason: string
  at: number
  lastSeen: number | null
}

interface State {
  ownerId: number
  status: DeviceStatus
  lastSeen: number | null
}

export class StatusTracker {
  private readonly states = new Map<number, State>()
  /** Online devices → last reading time, in order of last reading (oldest first). */
  private readonly live = new Map<number, number>()

  constructor(readonly offlineAfterMs: number) {}

  known(deviceId: number): boolean {
    return this.states.has(deviceId)
  }

  /** Seeds a device's state from storage (first time it is needed). */
  load(deviceId: number, ownerId: number, status: string, lastSeen: number | null, now: number): void {
    const s: DeviceStatus = (DEVICE_STATUSES as readonly string[]).includes(status) ? (status as DeviceStatus) : 'offline'
    this.states.set(deviceId, { ownerId, status: s, lastSeen })
    // An online device seen before a restart gets a full window from now to prove itself (the
    // live map must stay ordered by its timestamps, so older times are never inserted).
    if (s === 'online') this.touchLive(deviceId, now)
  }

  status(deviceId: number): DeviceStatus | undefined {
    return this.states.get(deviceId)?.status
  }

  lastSeen(deviceId: number): number | null {
    return this.states.get(deviceId)?.lastSeen ?? null
  }

  /** A reading arrived; returns the offline → online transition if there is one. */
  seen(deviceId: number, now: number): Transition | null {
    const s = this.states.get(deviceId)
    if (!s) return null
    s.lastSeen = now
    if (s.status === 'online') {
      this.touchLive(deviceId, now)
      return null
    }
    if (s.status !== 'offline') return null
    this.touchLive(deviceId, now)
    return this.change(deviceId, s, 'online', REASON_DATA, now)
  }

  /** Online devices silent for the window become offline. */
  sweep(now: number): Transition[] {
    const out: Transition[] = []
    for (const [deviceId, last] of this.live) {
      if (now - last < this.offlineAfterMs) break
      this.live.delete(deviceId)
      const s = this.states.get(deviceId)
      if (s && s.status === 'online') out.push(this.change(deviceId, s, 'offline', REASON_LOST, now))
    }
    return out
  }

  /**
   * The device's connection ended (MQTT DISCONNECT, a lost connection, its will message): an
   * online device is offline at once instead of after the silence window.
   */
  disconnected(deviceId: number, now: number, reason: string): Transition | null {
    const s = this.states.get(deviceId)
    if (!s || s.status !== 'online') return null
    this.live.delete(deviceId)
    return this.change(deviceId, s, 'offline', reason, now)
  }

  /** The owner sets maintenance/warning, or clears it (null) back to liveness. */
  setManual(deviceId: number, status: ManualStatus | null, now: number, reason?: string): Transition | null {
    const s = this.states.get(deviceId)
    if (!s) return null
    let to: DeviceStatus
    if (status) to = status
    else if (s.status !== 'maintenance' && s.status !== 'warning') return null
    else to = s.lastSeen !== null && now - s.lastSeen < this.offlineAfterMs ? 'online' : 'offline'
    if (to === s.status) return null
    this.live.delete(deviceId)
    if (to === 'online') this.live.set(deviceId, now)
    return this.change(deviceId, s, to, reason ?? (status ? `Set to ${status} by owner` : 'Cleared by owner'), now)
  }

  forget(deviceId: number): void {
    this.states.delete(deviceId)
    this.live.delete(deviceId)
  }

  /** Devices seen since `since` (for flushing last-seen times in one statement). */
  seenSince(since: number): Array<[number, number]> {
    const out: Array<[number, number]> = []
    for (const [id, s] of this.states) if (s.lastSeen !== null && s.lastSeen >= since) out.push([id, s.lastSeen])
    return out
  }

  private touchLive(deviceId: number, at: number): void {
    this.live.delete(deviceId)
    this.live.set(deviceId, at)
  }

  private change(deviceId: number, s: State, to: DeviceStatus, reason: string, at: number): Transition {
    const from = s.status
    s.status = to
    return { deviceId, ownerId: s.ownerId, from, to, reason, at, lastSeen: s.lastSeen }
  }
}
