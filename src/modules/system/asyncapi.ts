/**
 * The AsyncAPI 3 document describing every socket: the Pterodactyl-compatible console, the IoT
 * channels and the user events. Inbound channel messages reuse the schemas the server validates
 * with; every other message is the schema its owning module defines (console: servers module,
 * user events: user-events module, channel publications: devices, alerts, system, commands). Served at
 * /docs/asyncapi.json and validated in the test suite with the AsyncAPI parser.
 */
import { EVENT_TYPE_TABLE } from '../user-events/user-events.types.js'
import { USER_EVENT_SCHEMAS } from '../user-events/user-events.schemas.js'
import { CONSOLE_INBOUND, CONSOLE_OUTBOUND, type MessageDoc } from '../servers/console.messages.js'
import { INBOUND_SCHEMAS } from '../channels/channels.protocol.js'
import { AuthResponseReply, CollapsedReply, ErrorReply, PongReply, SubscribedReply, TokenExpiringReply, UnsubscribedReply } from '../channels/channels.replies.js'
import { CLOSE } from '../realtime/close-codes.js'
import { DeviceStatusUpdateMessage, TelemetryUpdateMessage } from '../devices/devices.messages.js'
import { AlertMessage, AlertStatusMessage } from '../alerts/alerts.messages.js'
import { TelemetryHistoryMessage, TelemetrySnapshotMessage } from '../devices/telemetry.stream.js'
import { SystemStatusMessage } from './system-status.codec.js'
import { CommandUpdateMessage } from '../commands/commands.topics.js'

type Json = Record<string, unknown>

/** Strips TypeBox's symbol-keyed metadata by a JSON round trip. */
const plain = (schema: unknown): Json => JSON.parse(JSON.stringify(schema)) as Json

/** One AsyncAPI message from its owner's schema. */
const message = (m: MessageDoc): Json => ({ name: m.name, summary: m.summary, payload: plain(m.payload) })
const messages = (docs: Record<string, MessageDoc>): Record<string, Json> => Object.fromEntries(Object.entries(docs).map(([id, m]) => [id, message(m)]))

export function buildAsyncApi(publicUrl: string): Json {
  const u = new URL(publicUrl)
  const consoleMessages = { ...messages(CONSOLE_INBOUND), ...messages(CONSOLE_OUTBOUND) }

  const channelMessages: Record<string, Json> = {
    auth: { name: 'auth', payload: plain(INBOUND_SCHEMAS.auth) },
    ping: { name: 'ping', payload: plain(INBOUND_SCHEMAS.ping) },
    subscribe: { name: 'subscribe', payload: plain(INBOUND_SCHEMAS.subscribe) },
    unsubscribe: { name: 'unsubscribe', payload: plain(INBOUND_SCHEMAS.unsubscribe) },
    batch: { name: 'batch', summary: 'Up to WS_MAX_BATCH (50) messages processed in order', payload: plain(INBOUND_SCHEMAS.batch) },
    authResponse: { name: 'auth_response', payload: plain(AuthResponseReply) },
    tokenExpiring: { name: 'token_expiring', summary: 'Sent at min(60 s, TTL/2) before the token expires and every SOCKET_TOKEN_REPEAT seconds after; answer with a new auth', payload: plain(TokenExpiringReply) },
    subscribed: { name: 'subscribed', payload: plain(SubscribedReply) },
    unsubscribed: { name: 'unsubscribed', payload: plain(UnsubscribedReply) },
    error: { name: 'error', payload: plain(ErrorReply) },
    pong: { name: 'pong', payload: plain(PongReply) },
    collapsed: { name: 'collapsed', summary: 'Telemetry/system samples were replaced by newer ones while the socket was behind', payload: plain(CollapsedReply) },
    telemetryUpdate: { name: 'telemetry_update', payload: plain(TelemetryUpdateMessage) },
    telemetryHistory: { name: 'telemetry_history', summary: 'History of a subscribe with `history` (chunks; the last has complete: true), before live updates', payload: plain(TelemetryHistoryMessage) },
    telemetrySnapshot: { name: 'telemetry_snapshot', summary: 'Latest value of every metric, for a subscribe with `snapshot: true`', payload: plain(TelemetrySnapshotMessage) },
    alert: { name: 'alert', payload: plain(AlertMessage) },
    alertStatusUpdate: { name: 'alert_status_update', summary: 'An alert was acknowledged or resolved, by a user (`by`) or automatically (rule auto_resolve, `automatic: true`)', payload: plain(AlertStatusMessage) },
    deviceStatusUpdate: { name: 'device_status_update', payload: plain(DeviceStatusUpdateMessage) },
    systemStatusUpdate: { name: 'system_status_update', payload: plain(SystemStatusMessage) },
    commandUpdate: { name: 'command_update', summary: 'A device command changed state (commands channel); each transition once', payload: plain(CommandUpdateMessage) },
  }

  const userMessages: Record<string, Json> = {}
  for (const row of EVENT_TYPE_TABLE) userMessages[row.name.toLowerCase()] = { name: row.name, summary: row.meaning, payload: plain(USER_EVENT_SCHEMAS[row.name]) }

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
      consoleSend: { action: 'receive', channel: { $ref: '#/channels/console' }, summary: 'What a console client sends', messages: ref('console', Object.keys(CONSOLE_INBOUND)) },
      consoleReceive: {
        action: 'send',
        channel: { $ref: '#/channels/console' },
        summary: 'What wirehub sends on a console socket',
        messages: ref('console', Object.keys(CONSOLE_OUTBOUND)),
      },
      channelsSend: { action: 'receive', channel: { $ref: '#/channels/channels' }, messages: ref('channels', ['auth', 'ping', 'subscribe', 'unsubscribe', 'batch']) },
      channelsReceive: {
        action: 'send',
        channel: { $ref: '#/channels/channels' },
        messages: ref('channels', ['authResponse', 'tokenExpiring', 'subscribed', 'unsubscribed', 'error', 'pong', 'collapsed', 'telemetryUpdate', 'telemetryHistory', 'telemetrySnapshot', 'alert', 'alertStatusUpdate', 'deviceStatusUpdate', 'systemStatusUpdate', 'commandUpdate']),
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
