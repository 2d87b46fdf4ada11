/**
 * One user-event socket, whichever port it arrived on: the pre-upgrade check (Origin against
 * the compiled allow-list, then the optional application API key) and the session once upgraded
 * (a hub connection subscribed to the user events topic, plus the inbound echo protocol with a
 * size limit and a per-socket rate limit). Both the `/ws/users` route and the extra port use
 * these, so the two behave identically.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { FastifyBaseLogger } from 'fastify'
import type { WebSocket } from 'ws'
import { KEY_TYPE_APPLICATION } from '../auth/api-key.format.js'
import type { ApiKeyService } from '../auth/api-keys.service.js'
import { bearerToken } from '../auth/principal.js'
import { CLOSE } from '../realtime/close-codes.js'
import type { Hub } from '../realtime/hub.js'
import { parseFrame } from '../realtime/socket-support.js'
import { TokenBucket } from '../realtime/token-bucket.js'
import type { CompiledDomains } from './domain-patterns.js'
import { errorEvent, replyTo } from './user-events.protocol.js'
import { ERROR_CODE, LIMITS, USER_EVENTS_TOPIC } from './user-events.types.js'

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
  | { ok: false; status: 401 | 403; reason: string; detail: string }

export interface UpgradeCheckDeps {
  domains: CompiledDomains
  requireKey: boolean
  apiKeys: Pick<ApiKeyService, 'authenticate'>
}

/** Decides, before any websocket exists, whether an upgrade request may open a socket. */
export function createUpgradeCheck(deps: UpgradeCheckDeps) {
  return async function checkUpgrade(headers: IncomingHttpHeaders, ip: string, via: UserEventsMeta['via']): Promise<UpgradeVerdict> {
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

/** Adopts an accepted socket: subscribes it to the user events and serves the echo protocol. */
export function startSession(deps: { hub: Hub; log: FastifyBaseLogger }, ws: WebSocket, meta: UserEventsMeta): void {
  const conn = deps.hub.connect(ws, CONNECTION_KIND, meta)
  if (meta.keyId !== null) conn.credential = `k:${meta.keyId}`
  const log = deps.log.child({ connId: conn.id })
  deps.hub.subscribe(conn, USER_EVENTS_TOPIC)
  const bucket = new TokenBucket(LIMITS.messagesPerSecond, LIMITS.burst)
  let droppedInARow = 0
  log.debug({ origin: meta.origin, via: meta.via }, 'user events socket opened')

  // Attached synchronously: a client may send its first message in the same tick as the upgrade.
  ws.on('message', (data, isBinary) => {
    if (conn.closed) return
    conn.counters.messagesIn++
    const frame = parseFrame(data as Buffer, isBinary, LIMITS.maxInboundBytes)
    if (!frame.ok && frame.error === 'too_large') {
      log.info('user events message too large; closing')
      conn.close(CLOSE.TOO_BIG, `message larger than ${LIMITS.maxInboundBytes} bytes`)
      return
    }
    if (!bucket.take()) {
      droppedInARow++
      // One notice per burst of excess, not one per dropped message (no reply amplification).
      if (droppedInARow === 1) conn.sendText(JSON.stringify(errorEvent(ERROR_CODE.RATE_LIMITED, `At most ${LIMITS.messagesPerSecond} messages per second; messages are dropped until the rate falls.`)))
      if (droppedInARow > LIMITS.maxDroppedInARow) {
        log.info('user events socket kept flooding; closing')
        conn.close(CLOSE.RATE_LIMITED)
      }
      return
    }
    droppedInARow = 0
    const reply = replyTo(frame)
    if (reply) conn.sendText(JSON.stringify(reply))
  })
  ws.on('error', (err) => log.debug({ err }, 'user events socket error'))
}
