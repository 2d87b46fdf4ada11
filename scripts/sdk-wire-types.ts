/**
 * Writes packages/client/src/wire.generated.ts: the SDK's wire types, generated from the message
 * schemas (TypeBox) of the modules that own them, because the SDK may not import server code.
 * `npm run sdk:types` rewrites the file; test/sdk/wire-types.test.ts fails when the committed
 * file differs from what this script produces, so a schema change cannot leave the SDK behind.
 *
 * The emitter covers the JSON Schema that our message schemas use: objects (properties,
 * required, records), arrays, unions, literals, enums and primitives. A nested schema equal to
 * a named one is written as that name.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { TSchema } from 'typebox'
import { ConsoleOutbound, ConsoleOutputMessage, ConsoleStats, PowerActionSchema, ServerStateSchema, StatsMessage, StatusMessage } from '../src/modules/servers/console.messages.js'
import { CommandAttributes, CommandStateSchema } from '../src/modules/commands/commands.schemas.js'
import { CommandUpdateMessage } from '../src/modules/commands/commands.topics.js'
import { EchoEvent, ErrorEvent, UserLifecycleEvent } from '../src/modules/user-events/user-events.schemas.js'
import { EVENT_TYPE } from '../src/modules/user-events/user-events.types.js'
import { DeviceStatusUpdateMessage, TelemetryUpdateMessage } from '../src/modules/devices/devices.messages.js'
import { AlertMessage } from '../src/modules/alerts/alerts.messages.js'
import { TelemetryHistoryMessage, TelemetrySnapshotMessage } from '../src/modules/devices/telemetry.stream.js'
import { SystemStatusMessage } from '../src/modules/system/system-status.codec.js'

export const WIRE_FILE = fileURLToPath(new URL('../packages/client/src/wire.generated.ts', import.meta.url))

type Json = { [k: string]: unknown }

/** The named types, in output order: [name, schema, what it is]. */
const NAMED: Array<[string, TSchema, string]> = [
  ['ServerState', ServerStateSchema, 'A game server\'s state (console `status`, `stats`).'],
  ['PowerAction', PowerActionSchema, 'The argument of a console `set state`.'],
  ['ConsoleStats', ConsoleStats, 'The figures of a console `stats` event (its args[0], JSON text).'],
  ['ConsoleOutputFrame', ConsoleOutputMessage, 'One console line.'],
  ['ConsoleStatusFrame', StatusMessage, 'A server state change.'],
  ['ConsoleStatsFrame', StatsMessage, 'Resource usage; args[0] is ConsoleStats as JSON text.'],
  ['ConsoleOutboundFrame', ConsoleOutbound, 'Every frame wirehub sends on a console socket.'],
  ['CommandState', CommandStateSchema, 'QUEUED → SENT → DELIVERED → SUCCEEDED | FAILED; EXPIRED or CANCELLED from any open state.'],
  ['DeviceCommand', CommandAttributes, 'A device command as the server reports it (REST and the `commands` channel).'],
  ['CommandUpdate', CommandUpdateMessage, 'One state change of a command on the `commands` channel.'],
  ['WireTelemetryUpdate', TelemetryUpdateMessage, '`telemetry_update` as the devices module sends it.'],
  ['WireTelemetryHistory', TelemetryHistoryMessage, '`telemetry_history` as the devices module sends it.'],
  ['WireTelemetrySnapshot', TelemetrySnapshotMessage, '`telemetry_snapshot` as the devices module sends it.'],
  ['WireDeviceStatusUpdate', DeviceStatusUpdateMessage, '`device_status_update` as the devices module sends it.'],
  ['WireAlert', AlertMessage, '`alert` as the alerts module sends it.'],
  ['WireSystemStatusUpdate', SystemStatusMessage, '`system_status_update` as the system module sends it.'],
  ['UserLifecycleEvent', UserLifecycleEvent, 'A user events lifecycle event (every type but ECHO and ERROR); `key` on the API key events.'],
  ['UserEchoEvent', EchoEvent, 'The answer to an echo.'],
  ['UserErrorEvent', ErrorEvent, 'The last client message was refused; the socket stays open.'],
]

const plain = (s: unknown): Json => JSON.parse(JSON.stringify(s)) as Json
/** Structural key of a schema, ignoring its own description (a use may describe it). */
function keyOf(s: Json): string {
  const { description: _d, ...rest } = s
  return JSON.stringify(rest)
}

function emitter(named: Array<[string, Json]>) {
  const names = new Map(named.map(([n, s]) => [keyOf(s), n]))

  function comment(text: unknown, pad: string): string {
    return typeof text === 'string' ? `${pad}/** ${text.replace(/\*\//g, '*\\/')} */\n` : ''
  }

  function type(s: Json, pad: string, self?: string): string {
    const name = names.get(keyOf(s))
    if (name && name !== self) return name
    if ('const' in s) return literal(s.const)
    if (Array.isArray(s.enum)) return union(s.enum.map(literal), pad)
    if (Array.isArray(s.anyOf)) return union((s.anyOf as Json[]).map((x) => type(x, `${pad}  `)), pad)
    if (Array.isArray(s.type)) return union((s.type as string[]).map((t) => type({ ...s, type: t }, `${pad}  `)), pad)
    switch (s.type) {
      case 'string':
        return 'string'
      case 'number':
      case 'integer':
        return 'number'
      case 'boolean':
        return 'boolean'
      case 'null':
        return 'null'
      case 'array': {
        const item = s.items ? type(s.items as Json, pad) : 'unknown'
        return /^\w+$/.test(item) ? `${item}[]` : `Array<${item}>`
      }
      case 'object':
        return object(s, pad)
      default:
        return 'unknown'
    }
  }

  function literal(v: unknown): string {
    return typeof v === 'string' ? `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : JSON.stringify(v)
  }

  function union(parts: string[], pad: string): string {
    const unique = [...new Set(parts)]
    const oneLine = unique.join(' | ')
    if (!oneLine.includes('\n') && oneLine.length <= 100) return oneLine
    return unique.map((p) => `\n${pad}  | ${p}`).join('')
  }

  function object(s: Json, pad: string): string {
    const props = (s.properties ?? {}) as Record<string, Json>
    const required = new Set((s.required ?? []) as string[])
    const pattern = s.patternProperties as Record<string, Json> | undefined
    const rest = pattern ? Object.values(pattern)[0] : typeof s.additionalProperties === 'object' ? (s.additionalProperties as Json) : undefined
    if (Object.keys(props).length === 0) return `Record<string, ${rest ? type(rest, pad) : 'unknown'}>`
    const inner = `${pad}  `
    const lines = Object.entries(props).map(([k, v]) => {
      const t = type(v, inner)
      return `${comment(v.description, inner)}${inner}${/^\w+$/.test(k) ? k : literal(k)}${required.has(k) ? '' : '?'}:${t.startsWith('\n') ? t : ` ${t}`}`
    })
    // Open objects (additionalProperties not false) may carry more than they name.
    if (s.additionalProperties === true) lines.push(`${inner}[k: string]: unknown`)
    return `{\n${lines.join('\n')}\n${pad}}`
  }

  return { type, comment }
}

export function renderWireTypes(): string {
  const named = NAMED.map(([n, s]) => [n, plain(s)] as [string, Json])
  const { type, comment } = emitter(named)
  const out: string[] = [
    '// Generated by scripts/sdk-wire-types.ts from the message schemas of the modules that send them',
    '// (servers, commands, devices, alerts, system, user-events): do not edit. `npm run sdk:types`',
    '// rewrites it; test/sdk/wire-types.test.ts fails when it is stale.',
    '',
  ]
  for (const [i, [name, schema]] of named.entries()) {
    const body = type(schema, '', name)
    const decl = body.startsWith('{') ? `export interface ${name} ${body}` : body.startsWith('\n') ? `export type ${name} =${body}` : `export type ${name} = ${body}`
    out.push(`${comment(NAMED[i]![2], '')}${decl}`, '')
  }
  out.push('/** Numeric event types of the user events socket (1–4 and 10 as the seed). */')
  out.push(`export const USER_EVENT = ${JSON.stringify(EVENT_TYPE, null, 2).replace(/"(\w+)":/g, '$1:')} as const`, '')
  return out.join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = renderWireTypes()
  let old = ''
  try {
    old = readFileSync(WIRE_FILE, 'utf8')
  } catch {
    /* first run */
  }
  if (old !== text) writeFileSync(WIRE_FILE, text)
  process.stdout.write(old === text ? 'wire.generated.ts is up to date\n' : 'wire.generated.ts written\n')
}
