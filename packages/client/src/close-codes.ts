/**
 * Every websocket close code wirehub sends, split into codes after which the client reconnects
 * (with backoff) and terminal codes after which reconnecting cannot help.
 *
 * A COPY of the server's table (src/modules/realtime/close-codes.ts), kept separate so the SDK
 * has no dependency on server code; test/sdk/close-codes.test.ts fails when the two drift apart.
 * Codes not listed here (1005, 1006 abnormal closure, ...) are treated as "reconnect".
 */
export interface CloseCode {
  code: number
  reason: string
  reconnect: boolean
  meaning: string
}

export const CLOSE = {
  NORMAL: { code: 1000, reason: 'normal closure', reconnect: false, meaning: 'The client or server ended the session on purpose.' },
  GOING_AWAY: { code: 1001, reason: 'server shutting down', reconnect: true, meaning: 'wirehub is restarting or stopping; reconnect to another instance or after a moment.' },
  POLICY: { code: 1008, reason: 'policy violation', reconnect: false, meaning: 'The client broke the protocol in a way that cannot be recovered on this socket.' },
  TOO_BIG: { code: 1009, reason: 'message too big', reconnect: false, meaning: 'An inbound frame exceeded the size limit (4096 bytes on consoles and user events, 1 KB on channels).' },
  INTERNAL: { code: 1011, reason: 'internal error', reconnect: true, meaning: 'An unexpected server error; safe to retry with backoff.' },
  AUTH_TIMEOUT: { code: 4001, reason: 'authentication timeout', reconnect: true, meaning: 'No successful auth message within the allowed time after connecting.' },
  AUTH_FAILED: { code: 4003, reason: 'authentication failed', reconnect: false, meaning: 'The credentials were refused; get a new token before reconnecting.' },
  SLOW_CONSUMER: { code: 4008, reason: 'slow consumer', reconnect: true, meaning: 'The client did not read fast enough and its backlog of must-deliver messages overflowed; reconnect and catch up from history.' },
  TOO_MANY_CONNECTIONS: { code: 4009, reason: 'too many connections', reconnect: true, meaning: 'A connection limit (per server, per user or in total) was reached; retry later with backoff.' },
  REVOKED: { code: 4010, reason: 'access revoked', reconnect: false, meaning: 'The key, session, user or permission behind this socket was revoked or changed.' },
  RATE_LIMITED: { code: 4029, reason: 'rate limited', reconnect: true, meaning: 'Too many messages or new connections; retry after a pause.' },
  SERVER_DELETED: { code: 4404, reason: 'server deleted', reconnect: false, meaning: 'The game server behind this console socket was deleted.' },
  SUSPENDED: { code: 4409, reason: 'server suspended', reconnect: false, meaning: 'The game server is suspended.' },
} as const satisfies Record<string, CloseCode>

export type CloseName = keyof typeof CLOSE

export function isTerminal(code: number): boolean {
  for (const c of Object.values(CLOSE)) if (c.code === code) return !c.reconnect
  return false
}

/** The table entry for a code, if wirehub documents it. */
export function describeClose(code: number): CloseCode | undefined {
  for (const c of Object.values(CLOSE)) if (c.code === code) return c
  return undefined
}
