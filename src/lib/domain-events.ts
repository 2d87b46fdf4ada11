/**
 * In-process domain events: what happened to users, keys and sessions. Services emit; other
 * domains (socket revocation, the user events socket, the Redis backplane) listen without the
 * emitting service knowing them. Listeners must not throw; errors are theirs to log.
 */
import { EventEmitter } from 'node:events'

export interface UserRef {
  id: number
  uuid: string
  email: string
}

export interface DomainEventMap {
  'user.created': [{ user: UserRef; at: Date }]
  'user.updated': [{ user: UserRef; at: Date }]
  'user.deleted': [{ user: UserRef; at: Date }]
  'user.login': [{ user: UserRef; at: Date; ip: string }]
  'user.logout': [{ user: UserRef; at: Date }]
  'apikey.created': [{ user: UserRef; identifier: string; keyType: number; at: Date }]
  'apikey.revoked': [{ user: UserRef; identifier: string; keyId: number; keyType: number; at: Date }]
  'session.ended': [{ user: UserRef; sessionId: number; at: Date }]
  /** A game server was deleted or suspended: its console sockets close (1001, as Wings). */
  'server.deleted': [{ serverUuid: string }]
  'server.suspended': [{ serverUuid: string }]
  /** Access to a server changed (owner, subuser added/changed/removed; `userId` null: anyone's). */
  'server.access': [{ serverUuid: string; userId: number | null }]
}

export class DomainEvents extends EventEmitter<DomainEventMap> {
  constructor() {
    super({ captureRejections: false })
    // Many sockets subscribe through a few listeners each; the default 10 warns spuriously.
    this.setMaxListeners(100)
  }
}
