/**
 * The single revocation path: domain events are listened to once, here, and turned into calls
 * on the session index. Families do not subscribe to these events themselves; they only say, in
 * their adapter's `recheck`, what a change means for their sockets (kept, re-evaluated, closed).
 *
 *   apikey.revoked, session.ended → close that credential's sockets (4010)
 *   user.deleted                  → close the user's sockets (4010)
 *   user.updated                  → re-evaluate the user's sockets in place (admin flag, …)
 *   server.deleted / suspended    → close the server's console sockets with 1001 (as Wings)
 *   server.access                 → re-evaluate in place (permissions applied, or 4010 if lost)
 */
import type { DomainEventMap, DomainEvents } from '../../lib/domain-events.js'
import { CLOSE } from './close-codes.js'
import type { SessionIndex } from './session-index.js'

/** The index key of a game server's sessions. */
export const serverResource = (uuid: string) => `server:${uuid}`

type Listeners = { [K in keyof DomainEventMap]?: (...args: DomainEventMap[K]) => void }

/**
 * Acts after every other listener of the same event has run: a socket still receives the event
 * that revokes it (the user events socket publishes "key revoked" to the very socket it closes).
 */
const later = (fn: () => void): void => void setImmediate(fn)

export function listenForRevocations(events: DomainEvents, index: SessionIndex): () => void {
  const listeners: Listeners = {
    'apikey.revoked': ({ keyId }) => later(() => index.revokeCred(`k:${keyId}`, 'The API key behind this socket was revoked.')),
    'session.ended': ({ sessionId }) => later(() => index.revokeCred(`s:${sessionId}`, 'The session behind this socket ended.')),
    'user.deleted': ({ user }) => later(() => index.revokeUser(user.id, 'The account behind this socket was deleted.')),
    'user.updated': ({ user }) => later(() => index.recheckUser(user.id)),
    'server.deleted': ({ serverUuid }) => index.closeResource(serverResource(serverUuid), CLOSE.GOING_AWAY, 'server deleted'),
    'server.suspended': ({ serverUuid }) => index.closeResource(serverResource(serverUuid), CLOSE.GOING_AWAY, 'server suspended'),
    'server.access': ({ serverUuid, userId }) => index.recheckResource(serverResource(serverUuid), userId ?? undefined),
  }
  for (const [name, fn] of Object.entries(listeners)) events.on(name as keyof DomainEventMap, fn as never)
  return () => {
    for (const [name, fn] of Object.entries(listeners)) events.off(name as keyof DomainEventMap, fn as never)
  }
}
