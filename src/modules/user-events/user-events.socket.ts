/**
 * The user events family, whichever port a socket arrived on: the pre-upgrade check and the
 * protocol adapter on the socket session core (size USER_EVENTS_MAX_MESSAGE_BYTES → 1009, the
 * flood budget USER_EVENTS_MESSAGES_PER_SECOND → one `rate_limited` error per episode, a flood
 * closes 4029; ordered handling and internal errors as every family).
 *
 * The check, before any websocket exists: the address against USER_EVENTS_ALLOWED_IPS (403),
 * the connection limits in total and per address (503/429), the Origin against
 * APPROVED_SOCKET_DOMAINS (403), then, with USER_EVENTS_REQUIRE_KEY, an administrator's
 * application key (401/403). A key-authenticated socket is indexed by its key and owner, so
 * revoking the key, deleting or demoting the owner closes it (4010) through the core's one
 * revocation path.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { BlockList } from 'node:net'
import { ipAllowed } from '../../lib/ip-allow-list.js'
import type { OriginPolicy } from '../../lib/origin-policy.js'
import { KEY_TYPE_APPLICATION } from '../auth/api-key.format.js'
import type { ApiKeyService } from '../auth/api-keys.service.js'
import { bearerToken } from '../auth/principal.js'
import { CLOSE } from '../realtime/close-codes.js'
import type { Family, Session } from '../realtime/session.js'
import { errorEvent, replyTo } from './user-events.protocol.js'
import { ERROR_CODE, USER_EVENTS_TOPIC } from './user-events.types.js'

export const CONNECTION_KIND = 'user-events'

export interface UserEventsMeta {
  origin: string
  /** Which listener accepted it: the main port's `/ws/users` or the extra port. */
  via: 'main' | 'extra'
  /** Set when USER_EVENTS_REQUIRE_KEY is on: the key and its owner, for revocation. */
  keyId: number | null
  userId: number | null
}

export type UpgradeVerdict =
  | { ok: true; meta: UserEventsMeta }
  | { ok: false; status: 401 | 403 | 429 | 503; reason: string; detail: string }

export interface UpgradeCheckDeps {
  domains: OriginPolicy
  requireKey: boolean
  apiKeys: Pick<ApiKeyService, 'authenticate'>
  /** USER_EVENTS_ALLOWED_IPS compiled (null: any address). */
  allowedIps: BlockList | null
  limits: { maxConnections: number; maxPerIp: number }
  /** Open user-event sockets, in total and from one address (the session index counts them). */
  open: { total(): number; from(ip: string): number }
}

/** Decides, before any websocket exists, whether an upgrade request may open a socket. */
export function createUpgradeCheck(deps: UpgradeCheckDeps) {
  return async function checkUpgrade(headers: IncomingHttpHeaders, ip: string, via: UserEventsMeta['via']): Promise<UpgradeVerdict> {
    if (!ipAllowed(deps.allowedIps, ip)) return { ok: false, status: 403, reason: 'ip_refused', detail: 'This address may not open user event sockets (USER_EVENTS_ALLOWED_IPS).' }
    if (deps.open.from(ip) >= deps.limits.maxPerIp) {
      return { ok: false, status: 429, reason: 'too_many_from_ip', detail: `At most ${deps.limits.maxPerIp} user event sockets at once from one address.` }
    }
    if (deps.open.total() >= deps.limits.maxConnections) {
      return { ok: false, status: 503, reason: 'too_many', detail: `At most ${deps.limits.maxConnections} user event sockets at once; retry later.` }
    }
    const origin = headers.origin
    if (origin === undefined || origin === '') {
      return { ok: false, status: 403, reason: 'origin_missing', detail: 'A missing Origin header is not allowed on this socket.' }
    }
    if (!deps.domains.allows(origin)) {
      return { ok: false, status: 403, reason: 'origin_refused', detail: `Origin ${origin.slice(0, 200)} is not allowed to open this socket.` }
    }
    if (!deps.requireKey) return { ok: true, meta: { origin, via, keyId: null, userId: null } }
    const token = bearerToken(headers.authorization)
    if (!token) return { ok: false, status: 401, reason: 'key_missing', detail: 'An application API key is required (Authorization: Bearer wha_…).' }
    const auth = await deps.apiKeys.authenticate(token, ip)
    if (!auth.ok) return { ok: false, status: 401, reason: `key_${auth.reason}`, detail: 'The API key was refused.' }
    if (auth.keyType !== KEY_TYPE_APPLICATION || !auth.user.rootAdmin) {
      return { ok: false, status: 403, reason: 'key_not_application', detail: 'This socket requires an application API key of an administrator.' }
    }
    return { ok: true, meta: { origin, via, keyId: auth.keyId, userId: auth.user.id } }
  }
}

export type UpgradeCheck = ReturnType<typeof createUpgradeCheck>

export interface AdapterDeps {
  /** Whether the key owner is still an administrator (re-evaluation after a user change). */
  isAdministrator(userId: number): Promise<boolean>
}

/** Adopts an accepted socket: subscribes it to the user events and serves the echo protocol. */
export function serveUserEvents(deps: AdapterDeps, session: Session<UserEventsMeta>, family: Family): void {
  const meta = session.conn.meta
  // Indexed by key and owner for revocation; otherwise admitted by Origin (and address) alone.
  if (meta.keyId !== null && meta.userId !== null) session.authenticated({ userId: meta.userId, cred: `k:${meta.keyId}` })
  session.subscribe(USER_EVENTS_TOPIC)
  const reply = (event: object) => session.send(JSON.stringify(event))
  session.use({
    message: (value) => {
      const r = replyTo({ ok: true, value })
      if (r) reply(r)
    },
    refused: (error) => {
      const r = replyTo({ ok: false, error })
      if (r) reply(r)
    },
    // One notice per burst of excess, not one per dropped message (no reply amplification).
    throttled: () => reply(errorEvent(ERROR_CODE.RATE_LIMITED, `At most ${family.limits.messagesPerSecond} messages per second; messages are dropped until the rate falls.`)),
    async recheck() {
      if (meta.userId === null) return
      if (!(await deps.isAdministrator(meta.userId))) session.close(CLOSE.REVOKED, 'key owner is no longer an administrator')
    },
  })
  session.log.debug({ origin: meta.origin, via: meta.via }, 'user events socket opened')
}
