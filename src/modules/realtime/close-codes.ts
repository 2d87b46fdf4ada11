/**
 * Every websocket close code wirehub sends, shared by the console, channel and user-event
 * sockets, split as centrifuge does into codes after which a client should reconnect (with
 * backoff) and terminal codes after which reconnecting cannot help. The SDK and the README table
 * are generated from this list.
 */
export interface CloseCode {
  code: number
  reason: string
  reconnect: boolean
  meaning: string
}

export const CLOSE = {
  NORMAL: { code: 1000, reason: 'normal closure', reconnect: false, meaning: 'The client or server ended the session on purpose.' },
  GOING_AWAY: { code: 1001, reason: 'going away', reconnect: false, meaning: 'What the socket was opened for is gone: the game server was deleted or suspended (console sockets, as Wings). The reason says which. The Pterodactyl panel (Sockette) and the SDK stop; reopen when the user comes back to it.' },
  PROTOCOL_ERROR: { code: 1002, reason: 'protocol error', reconnect: false, meaning: 'Sent by the websocket layer for a malformed frame (bad opcode, unmasked client frame, reserved bits).' },
  INVALID_DATA: { code: 1007, reason: 'invalid frame payload data', reconnect: false, meaning: 'Sent by the websocket layer for a text frame that is not valid UTF-8.' },
  POLICY: { code: 1008, reason: 'policy violation', reconnect: false, meaning: 'The client broke the protocol in a way that cannot be recovered on this socket.' },
  TOO_BIG: { code: 1009, reason: 'message too big', reconnect: false, meaning: 'An inbound frame exceeded its family\'s size limit (CONSOLE_MAX_MESSAGE_BYTES, WS_MAX_MESSAGE_BYTES, USER_EVENTS_MAX_MESSAGE_BYTES).' },
  INTERNAL: { code: 1011, reason: 'internal error', reconnect: true, meaning: 'An unexpected server error while handling a message, on every socket family; safe to retry with backoff.' },
  RESTART: { code: 1012, reason: 'service restart', reconnect: true, meaning: 'wirehub is restarting or stopping (SIGTERM); reconnect after a moment, to this or another instance. Sockette (the Pterodactyl panel) and the SDK reconnect on it (PteroJS reconnects after no code: it emits serverDisconnect and leaves it to the application).' },
  AUTH_TIMEOUT: { code: 4001, reason: 'authentication timeout', reconnect: true, meaning: 'No successful auth message within the allowed time after connecting.' },
  AUTH_FAILED: { code: 4003, reason: 'authentication failed', reconnect: false, meaning: 'The credentials were refused; get a new token before reconnecting.' },
  SLOW_CONSUMER: { code: 4008, reason: 'slow consumer', reconnect: true, meaning: 'The client did not read fast enough and its backlog of must-deliver messages overflowed; reconnect and catch up from history. A client that stopped reading entirely may never read this close frame: it is cut off 5 s later and sees 1006.' },
  TOO_MANY_CONNECTIONS: { code: 4009, reason: 'too many connections', reconnect: true, meaning: 'A connection limit (unauthenticated sockets, per server, per user, per address or in total) was reached; retry later with backoff.' },
  REVOKED: { code: 4010, reason: 'access revoked', reconnect: false, meaning: 'The key, session or user behind this socket was revoked or deleted, or the user lost access to what the socket serves. A permission change that keeps access does not close the socket: it is applied in place and the client is asked to refresh its token.' },
  RATE_LIMITED: { code: 4029, reason: 'rate limited', reconnect: true, meaning: 'Too many messages or pings (a flood past one second\'s worth of its family\'s budget), or too many new connections; retry after a pause.' },
} as const satisfies Record<string, CloseCode>

export type CloseName = keyof typeof CLOSE

export function isTerminal(code: number): boolean {
  for (const c of Object.values(CLOSE)) if (c.code === code) return !c.reconnect
  return false
}
