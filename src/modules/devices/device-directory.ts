/**
 * A short-lived cache of the device facts the hot paths need (owner, name, units, key hash),
 * by id and by key identifier, so ingestion and socket subscriptions do not hit the database per
 * request. Entries expire after `ttlMs` (other instances may change a device) and are evicted at
 * once on local changes; the cache is bounded (oldest entries go first).
 */
import type { Prisma } from '../../db/database.js'

export interface DeviceInfo {
  id: number
  ownerId: number
  name: string
  type: string
  units: Record<string, string>
  keyIdentifier: string
  keySecretHash: string
  /** Status and last-seen as stored when loaded (the status tracker holds the live values). */
  status: string
  lastSeenAt: number | null
  expiresAt: number
}

interface DeviceRow {
  id: number
  ownerId: number
  name: string
  type: string
  units: unknown
  keyIdentifier: string
  keySecretHash: string
  status: string
  lastSeenAt: Date | null
}

export function unitsOf(value: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v
  }
  return out
}

export function createDeviceDirectory(deps: { prisma: Prisma; ttlMs?: number; max?: number }) {
  const ttl = deps.ttlMs ?? 30_000
  const max = deps.max ?? 50_000
  const byId = new Map<number, DeviceInfo>()
  const byKey = new Map<string, number>()
  const select = { id: true, ownerId: true, name: true, type: true, units: true, keyIdentifier: true, keySecretHash: true, status: true, lastSeenAt: true } as const

  function remember(row: DeviceRow): DeviceInfo {
    const info: DeviceInfo = {
      id: row.id,
      ownerId: row.ownerId,
      name: row.name,
      type: row.type,
      units: unitsOf(row.units),
      keyIdentifier: row.keyIdentifier,
      keySecretHash: row.keySecretHash,
      status: row.status,
      lastSeenAt: row.lastSeenAt ? row.lastSeenAt.getTime() : null,
      expiresAt: Date.now() + ttl,
    }
    invalidate(row.id)
    if (byId.size >= max) invalidate(byId.keys().next().value as number)
    byId.set(info.id, info)
    byKey.set(info.keyIdentifier, info.id)
    return info
  }

  function invalidate(id: number): void {
    const hit = byId.get(id)
    if (!hit) return
    byId.delete(id)
    byKey.delete(hit.keyIdentifier)
  }

  return {
    async get(id: number): Promise<DeviceInfo | null> {
      const hit = byId.get(id)
      if (hit && hit.expiresAt > Date.now()) return hit
      const row = await deps.prisma.device.findUnique({ where: { id }, select })
      if (!row) {
        invalidate(id)
        return null
      }
      return remember(row)
    },

    async byKeyIdentifier(identifier: string): Promise<DeviceInfo | null> {
      const id = byKey.get(identifier)
      const hit = id === undefined ? undefined : byId.get(id)
      if (hit && hit.expiresAt > Date.now()) return hit
      const row = await deps.prisma.device.findUnique({ where: { keyIdentifier: identifier }, select })
      return row ? remember(row) : null
    },

    /** Caches a row the caller already loaded (after create/update). */
    remember,
    invalidate,
  }
}

export type DeviceDirectory = ReturnType<typeof createDeviceDirectory>
