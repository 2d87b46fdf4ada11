/**
 * The AsyncAPI 3 document describing every socket: the Pterodactyl-compatible console, the IoT
 * channels and the user events. Inbound channel messages reuse the schemas the server validates
 * with; outbound channel messages are the schemas their publishing modules define. Served at
 * /docs/asyncapi.json and validated in the test suite with the AsyncAPI parser.
 */
import { EVENT_TYPE, EVENT_TYPE_TABLE } from '../user-events/user-events.types.js'
import { ERROR_CODES, INBOUND_SCHEMAS } from '../channels/channels.protocol.js'
import { CLOSE } from '../realtime/close-codes.js'
import { DeviceStatusUpdateMessage, TelemetryUpdateMessage } from '../devices/devices.messages.js'
import { AlertMessage, AlertStatusMessage } from '../alerts/alerts.messages.js'
import { TelemetryHistoryMessage, TelemetrySnapshotMessage } from '../devices/telemetry.stream.js'
import { SystemStatusMessage } from './system-status.codec.js'
import { CommandUpdateMessage } from '../commands/commands.topics.js'

type Json = Record<string, unknown>

const str = (description?: string): Json => ({ type: 'string', ...(description ? { description } : {}) })
const num = (description?: string): Json => ({ type: 'number', ...(description ? { description } : {}) })
const int = (description?: string): Json => ({ type: 'integer', ...(description ? { description } : {}) })
const obj = (properties: Record<string, Json>, required: string[] = Object.keys(properties)): Json => ({ type: 'object', properties, required })

/** Strips TypeBox's symbol-keyed metadata by a JSON round trip. */
const plain = (schema: unknown): Json => JSON.parse(JSON.stringify(schema)) as Json

function consoleEvent(event: string, args: Json | null, summary: string, extra: Record<string, Json> = {}): Json {
  return {
    name: event,
    summary,
    payload: obj({ event: { type: 'string', const: event }, ...(args ? { args } : {}), ...extra }, args ? ['event', 'args'] : ['event']),
  }
}

const oneString = (description: string): Json => ({ type: 'array', items: { type: 'string', description }, minItems: 1, maxItems: 1 })
const nullArg: Json = { type: 'array', items: { type: ['null', 'string'] }, maxItems: 1 }

export function buildAsyncApi(publicUrl: string): Json {
  const u = new URL(publicUrl)
  const consoleMessages: Record<string, Json> = {
    auth: consoleEvent('auth', oneString('the token from GET /api/client/servers/{server}/websocket'), 'Authenticate (also renews the token on the same socket)', {
      since: { type: 'integer', minimum: 0, description: "wirehub, first auth of a socket only: replay the logged lines after this seq before the live stream (a reconnecting client's last seq)" },
    }),
    sendStats: consoleEvent('send stats', nullArg, 'Ask for a stats event now'),
    sendLogs: consoleEvent('send logs', nullArg, 'Replay the recent console history as console output events'),
    sendLogsSince: consoleEvent('send logs since', oneString('a line number (seq)'), 'wirehub: replay the logged lines after this seq, then stream on without gap or repeat'),
    setState: consoleEvent('set state', { type: 'array', items: { enum: ['start', 'stop', 'restart', 'kill'] }, minItems: 1, maxItems: 1 }, 'Power action'),
    sendCommand: consoleEvent('send command', oneString('a console command'), 'Write a command to the server console'),
    authSuccess: consoleEvent('auth success', null, 'Authentication accepted'),
    status: consoleEvent('status', { type: 'array', items: { enum: ['offline', 'starting', 'running', 'stopping'] } }, 'Server state change'),
    consoleOutput: consoleEvent('console output', oneString('one console line, ANSI codes kept'), 'A console line', {
      seq: { type: 'integer', minimum: 1, description: "wirehub: the line's number in the durable log (absent on ephemeral notices such as the throttle notice)" },
    }),
    stats: consoleEvent('stats', oneString('JSON text: {memory_bytes, memory_limit_bytes, cpu_absolute, network:{rx_bytes,tx_bytes}, uptime, state, disk_bytes}'), 'Resource usage, about once a second while running'),
    tokenExpiring: consoleEvent('token expiring', null, 'The token expires within min(60 s, TTL/2), repeated every SOCKET_TOKEN_REPEAT seconds until renewed; also sent after a permission change so the client fetches a token carrying the new permissions; send a fresh auth'),
    tokenExpired: consoleEvent('token expired', null, 'The token expired, repeated every SOCKET_TOKEN_REPEAT seconds until renewed; events are answered with jwt error until a fresh auth'),
    jwtError: consoleEvent('jwt error', oneString('reason'), 'The token was refused'),
    daemonError: consoleEvent('daemon error', oneString('message'), 'A request failed (details only for admin.websocket.errors tokens)'),
    daemonMessage: consoleEvent('daemon message', oneString('message'), 'A notice from wirehub'),
    throttled: consoleEvent('throttled', oneString('the throttled event name'), 'An inbound event exceeded its rate limit'),
  }

  const channelMessages: Record<string, Json> = {
    auth: { name: 'auth', payload: plain(INBOUND_SCHEMAS.auth) },
    ping: { name: 'ping', payload: plain(INBOUND_SCHEMAS.ping) },
    subscribe: { name: 'subscribe', payload: plain(INBOUND_SCHEMAS.subscribe) },
    unsubscribe: { name: 'unsubscribe', payload: plain(INBOUND_SCHEMAS.unsubscribe) },
    batch: { name: 'batch', summary: 'Up to WS_MAX_BATCH (50) messages processed in order', payload: plain(INBOUND_SCHEMAS.batch) },
    authResponse: { name: 'auth_response', payload: obj({ type: { const: 'auth_response' }, success: { type: 'boolean' }, error: { enum: ['invalid_token', 'token_expired'] }, message: str() }, ['type', 'success']) },
    tokenExpiring: { name: 'token_expiring', payload: obj({ type: { const: 'token_expiring' } }, ['type']) },
    subscribed: { name: 'subscribed', payload: obj({ type: { const: 'subscribed' }, channel: str() }, ['type', 'channel']) },
    unsubscribed: { name: 'unsubscribed', payload: obj({ type: { const: 'unsubscribed' }, channel: str() }, ['type', 'channel']) },
    error: { name: 'error', payload: obj({ type: { const: 'error' }, code: { enum: Object.keys(ERROR_CODES) }, message: str() }) },
    pong: { name: 'pong', payload: obj({ type: { const: 'pong' }, timestamp: { description: "the client's timestamp, echoed" }, server_time: str() }, ['type']) },
    telemetryUpdate: { name: 'telemetry_update', payload: plain(TelemetryUpdateMessage) },
    telemetryHistory: { name: 'telemetry_history', summary: 'History of a subscribe with `history` (chunks; the last has complete: true), before live updates', payload: plain(TelemetryHistoryMessage) },
    telemetrySnapshot: { name: 'telemetry_snapshot', summary: 'Latest value of every metric, for a subscribe with `snapshot: true`', payload: plain(TelemetrySnapshotMessage) },
    alert: { name: 'alert', payload: plain(AlertMessage) },
    alertStatusUpdate: { name: 'alert_status_update', summary: 'An alert was acknowledged or resolved, by a user (`by`) or automatically (rule auto_resolve, `automatic: true`)', payload: plain(AlertStatusMessage) },
    deviceStatusUpdate: { name: 'device_status_update', payload: plain(DeviceStatusUpdateMessage) },
    systemStatusUpdate: { name: 'system_status_update', payload: plain(SystemStatusMessage) },
    commandUpdate: { name: 'command_update', summary: 'A device command changed state (commands channel); each transition once', payload: plain(CommandUpdateMessage) },
  }

  const userEvent = (n: number): Json => ({ type: 'integer', const: n })
  const userPayload = obj({ uuid: str(), email: str() })
  const userMessages: Record<string, Json> = {}
  for (const row of EVENT_TYPE_TABLE) {
    const base: Record<string, Json> = { eventType: userEvent(row.eventType) }
    if (row.eventType === EVENT_TYPE.ECHO) base.message = str()
    else if (row.eventType === EVENT_TYPE.ERROR) Object.assign(base, { error: str(), message: str() })
    else Object.assign(base, { user: userPayload, timestamp: str() })
    userMessages[row.name.toLowerCase()] = { name: row.name, summary: row.meaning, payload: obj(base) }
  }

  const ref = (channel: string, msgs: string[]) => msgs.map((m) => ({ $ref: `#/channels/${channel}/messages/${m}` }))
  const closeCodes = Object.values(CLOSE).map((c) => `${c.code} ${c.reason}${c.reconnect ? ' (reconnect)' : ''}`).join('; ')
  const wsProtocol = u.protocol === 'https:' ? 'wss' : 'ws'

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'wirehub sockets',
      version: '0.1.0',
      description: `Every websocket wirehub serves. Close codes: ${closeCodes}.`,
    },
    defaultContentType: 'application/json',
    servers: { wirehub: { host: u.host, protocol: wsProtocol, description: 'The wirehub instance' } },
    channels: {
      console: {
        address: '/api/servers/{uuid}/ws',
        title: 'Game-server console (Pterodactyl Wings protocol)',
        parameters: { uuid: { description: 'Server uuid' } },
        messages: consoleMessages,
      },
      channels: {
        address: '/ws',
        title: 'IoT channels (also /ws/telemetry, /ws/alerts, /ws/devices, /ws/system, /ws/commands restricted to one channel)',
        messages: channelMessages,
      },
      userEvents: {
        address: '/ws/users',
        title: 'User events (numeric eventType)',
        messages: userMessages,
      },
    },
    operations: {
      consoleSend: { action: 'receive', channel: { $ref: '#/channels/console' }, summary: 'What a console client sends', messages: ref('console', ['auth', 'sendStats', 'sendLogs', 'sendLogsSince', 'setState', 'sendCommand']) },
      consoleReceive: {
        action: 'send',
        channel: { $ref: '#/channels/console' },
        summary: 'What wirehub sends on a console socket',
        messages: ref('console', ['authSuccess', 'status', 'consoleOutput', 'stats', 'tokenExpiring', 'tokenExpired', 'jwtError', 'daemonError', 'daemonMessage', 'throttled']),
      },
      channelsSend: { action: 'receive', channel: { $ref: '#/channels/channels' }, messages: ref('channels', ['auth', 'ping', 'subscribe', 'unsubscribe', 'batch']) },
      channelsReceive: {
        action: 'send',
        channel: { $ref: '#/channels/channels' },
        messages: ref('channels', ['authResponse', 'tokenExpiring', 'subscribed', 'unsubscribed', 'error', 'pong', 'telemetryUpdate', 'telemetryHistory', 'telemetrySnapshot', 'alert', 'alertStatusUpdate', 'deviceStatusUpdate', 'systemStatusUpdate', 'commandUpdate']),
      },
      userEventsSend: { action: 'receive', channel: { $ref: '#/channels/userEvents' }, messages: ref('userEvents', ['echo']) },
      userEventsReceive: {
        action: 'send',
        channel: { $ref: '#/channels/userEvents' },
        messages: ref('userEvents', EVENT_TYPE_TABLE.map((r) => r.name.toLowerCase())),
      },
    },
  }
}
