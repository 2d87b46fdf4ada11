/**
 * API keys: creation (the full key is returned once), listing, revocation with immediate effect,
 * and authentication of a presented key. Verified keys are cached briefly so the hot credential
 * path does not hit the database on every request; revocation evicts the entry at once.
 * `lastUsedAt` is kept in memory and flushed in one batch periodically, not written per request.
 */
import type { BlockList } from 'node:net'
import type { FastifyBaseLogger } from 'fastify'
import type { Prisma } from '../../db/database.js'
import type { DomainEvents } from '../../lib/domain-events.js'
import { FieldError, NotFound } from '../../lib/errors.js'
import { ipAllowed, parseAllowList } from '../../lib/ip-allow-list.js'
import { generateKey, hashSecret, parseKey, secretMatches, type KeyType, type ParsedKey } from './api-key.format.js'
import type { AuthFailure, AuthUser } from './principal.js'

interface CachedKey {
  id: number
  identifier: string
  keyType: KeyType
  /** SHA-256 of the secret, decoded once when cached. */
  secretHash: Buffer
  allowedIps: BlockList | null
  user: AuthUser
  expiresAt: number
}

export interface ApiKeyView {
  id: number
  identifier: string
  keyType: number
  description: string
  allowedIps: string[]
  lastUsedAt: Date | null
  createdAt: Date
}

export type KeyAuthResult =
  | { ok: true; keyId: number; keyType: KeyType; identifier: string; user: AuthUser }
  | { ok: false; reason: AuthFailure }

export interface ApiKeyServiceDeps {
  prisma: Prisma
  events: DomainEvents
  log: FastifyBaseLogger
  cacheTtlMs?: number
  cacheMax?: number
  flushEveryMs?: number
}

const MAX_KEYS_PER_USER = 25
const MAX_ALLOWED_IPS = 50

export function createApiKeyService(deps: ApiKeyServiceDeps) {
  const { prisma, events, log } = deps
  const ttl = deps.cacheTtlMs ?? 30_000
  const cacheMax = deps.cacheMax ?? 10_000
  const cache = new Map<string, CachedKey>()
  /** keyId → identifier of the cached entry, so `isActive(keyId)` is one lookup, not a scan. */
  const byId = new Map<number, string>()
  const lastUsed = new Map<number, Date>()

  const flushTimer = setInterval(() => void flushLastUsed(), deps.flushEveryMs ?? 15_000)
  flushTimer.unref()

  /**
   * Writes the remembered last-use times in one statement (not one UPDATE per key), never moving
   * a time backwards (another instance may have written a later one). On failure the times are
   * kept for the next flush unless newer ones arrived meanwhile.
   */
  async function flushLastUsed(): Promise<void> {
    if (lastUsed.size === 0) return
    const batch = [...lastUsed]
    lastUsed.clear()
    try {
      await prisma.$executeRawUnsafe(
        `UPDATE api_keys SET last_used_at = v.at
           FROM unnest($1::int[], $2::timestamptz[]) AS v(id, at)
          WHERE api_keys.id = v.id AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at < v.at)`,
        batch.map(([id]) => id),
        batch.map(([, at]) => at.toISOString()),
      )
    } catch (err) {
      for (const [id, at] of batch) if (!lastUsed.has(id)) lastUsed.set(id, at)
      log.warn({ err }, 'could not record API key last-use times')
    }
  }

  function forget(identifier: string) {
    const entry = cache.get(identifier)
    if (!entry) return
    cache.delete(identifier)
    byId.delete(entry.id)
  }

  function remember(entry: CachedKey) {
    if (cache.size >= cacheMax) forget(cache.keys().next().value as string)
    forget(entry.identifier)
    cache.set(entry.identifier, entry)
    byId.set(entry.id, entry.identifier)
  }

  /** The cached entry of a key, while it is fresh. */
  function cached(identifier: string): CachedKey | undefined {
    const hit = cache.get(identifier)
    return hit && hit.expiresAt > Date.now() ? hit : undefined
  }

  async function load(parsed: ParsedKey): Promise<CachedKey | 'unknown' | 'revoked'> {
    const hit = cached(parsed.identifier)
    if (hit) return hit
    const row = await prisma.apiKey.findUnique({
      where: { identifier: parsed.identifier },
      include: { user: { select: { id: true, uuid: true, email: true, rootAdmin: true } } },
    })
    if (!row || row.keyType !== parsed.type) return 'unknown'
    if (row.revokedAt) return 'revoked'
    const entry: CachedKey = {
      id: row.id,
      identifier: row.identifier,
      keyType: row.keyType as KeyType,
      secretHash: Buffer.from(row.secretHash, 'hex'),
      allowedIps: parseAllowList(row.allowedIps).list,
      user: row.user,
      expiresAt: Date.now() + ttl,
    }
    remember(entry)
    return entry
  }

  function check(parsed: ParsedKey, entry: CachedKey | 'unknown' | 'revoked', ip: string): KeyAuthResult {
    if (entry === 'unknown' || entry === 'revoked') return { ok: false, reason: entry }
    if (!secretMatches(parsed.secret, entry.secretHash)) return { ok: false, reason: 'unknown' }
    if (!ipAllowed(entry.allowedIps, ip)) return { ok: false, reason: 'ip_not_allowed' }
    lastUsed.set(entry.id, new Date())
    return { ok: true, keyId: entry.id, keyType: entry.keyType, identifier: parsed.identifier, user: entry.user }
  }

  return {
    async authenticate(raw: string, ip: string): Promise<KeyAuthResult> {
      const parsed = parseKey(raw)
      if (!parsed) return { ok: false, reason: 'malformed' }
      return check(parsed, await load(parsed), ip)
    },

    /**
     * The same answer as `authenticate` without a promise when it needs no database read (a
     * malformed key or a cached one); undefined otherwise. The HTTP hook runs on every request.
     */
    authenticateCached(raw: string, ip: string): KeyAuthResult | undefined {
      const parsed = parseKey(raw)
      if (!parsed) return { ok: false, reason: 'malformed' }
      const hit = cached(parsed.identifier)
      return hit ? check(parsed, hit, ip) : undefined
    },

    /** Creates a key; `fixed` (bootstrap ADMIN_API_KEY) uses a caller-chosen well-formed key. */
    async create(
      user: { id: number; uuid: string; email: string },
      keyType: KeyType,
      input: { description?: string; allowedIps?: string[] },
      fixed?: string,
    ): Promise<{ view: ApiKeyView; key: string }> {
      const allowedIps = input.allowedIps ?? []
      if (allowedIps.length > MAX_ALLOWED_IPS) throw new FieldError('allowed_ips', `at most ${MAX_ALLOWED_IPS} entries`, 'max')
      const { invalid } = parseAllowList(allowedIps)
      if (invalid.length > 0) {
        throw new FieldError('allowed_ips', `not an IP address or CIDR range: ${invalid.join(', ')}`, 'ip')
      }
      const count = await prisma.apiKey.count({ where: { userId: user.id, keyType, revokedAt: null } })
      if (count >= MAX_KEYS_PER_USER) {
        throw new FieldError('key', `at most ${MAX_KEYS_PER_USER} API keys per account; revoke one first`, 'max')
      }
      const parsed = fixed ? parseKey(fixed) : generateKey(keyType)
      if (!parsed || parsed.type !== keyType) throw new FieldError('key', 'malformed API key', 'format')
      const row = await prisma.apiKey.create({
        data: {
          userId: user.id,
          keyType,
          identifier: parsed.identifier,
          secretHash: hashSecret(parsed.secret),
          description: input.description ?? '',
          allowedIps,
        },
      })
      events.emit('apikey.created', { user, identifier: row.identifier, keyType, at: row.createdAt })
      return { view: toView(row), key: parsed.identifier + parsed.secret }
    },

    async list(userId: number, keyType: KeyType): Promise<ApiKeyView[]> {
      const rows = await prisma.apiKey.findMany({
        where: { userId, keyType, revokedAt: null },
        orderBy: { id: 'asc' },
      })
      return rows.map((r) => ({ ...toView(r), lastUsedAt: lastUsed.get(r.id) ?? r.lastUsedAt }))
    },

    /** Revokes the caller's key by identifier; effective immediately on this instance. */
    async revoke(user: { id: number; uuid: string; email: string }, identifier: string): Promise<void> {
      const row = await prisma.apiKey.findFirst({ where: { identifier, userId: user.id, revokedAt: null } })
      if (!row) throw new NotFound()
      await prisma.apiKey.update({ where: { id: row.id }, data: { revokedAt: new Date() } })
      forget(identifier)
      events.emit('apikey.revoked', { user, identifier, keyId: row.id, keyType: row.keyType, at: new Date() })
    },

    /** Drops cached keys (one identifier, or every key of a user after a change to the user). */
    invalidate(filter: { identifier?: string; userId?: number }) {
      if (filter.identifier) forget(filter.identifier)
      if (filter.userId !== undefined) {
        for (const [id, entry] of cache) if (entry.user.id === filter.userId) forget(id)
      }
    },

    /** Ids of the keys in the cache (the revocation re-check verifies them). */
    cachedKeyIds(): number[] {
      return [...byId.keys()]
    },

    /** Drops a key from the cache by id (found revoked by the re-check). */
    invalidateKeyId(keyId: number) {
      const identifier = byId.get(keyId)
      if (identifier !== undefined) forget(identifier)
    },

    /** True when the key still exists and is not revoked (socket re-auth checks this). */
    async isActive(keyId: number): Promise<boolean> {
      const identifier = byId.get(keyId)
      const hit = identifier === undefined ? undefined : cache.get(identifier)
      if (hit && hit.expiresAt > Date.now()) return true
      const row = await prisma.apiKey.findUnique({ where: { id: keyId }, select: { revokedAt: true } })
      return !!row && !row.revokedAt
    },

    flushLastUsed,

    async close() {
      clearInterval(flushTimer)
      await flushLastUsed()
    },
  }
}

function toView(row: {
  id: number
  identifier: string
  keyType: number
  description: string
  allowedIps: string[]
  lastUsedAt: Date | null
  createdAt: Date
}): ApiKeyView {
  return {
    id: row.id,
    identifier: row.identifier,
    keyType: row.keyType,
    description: row.description,
    allowedIps: row.allowedIps,
    lastUsedAt: row.lastUsedAt,
    createdAt: row.createdAt,
  }
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>
