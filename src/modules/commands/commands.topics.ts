/**
 * The `commands` channel: topic names and the one message it carries. Each state change of a
 * command is published once to the device's topic, its owner's topic and `commands:all` (root
 * administrators), like the other device channels; the hub delivers it once per socket.
 */
import Type from 'typebox'
import type { Codec } from '../realtime/hub.js'
import { CommandAttributes, COMMAND_STATES, type CommandState } from './commands.schemas.js'

export const COMMANDS_CHANNEL = 'commands'
export const COMMANDS_CODEC = 'commands.update'

export function commandTopics(deviceId: number, ownerId: number): string[] {
  return [`commands:${deviceId}`, `commands:u:${ownerId}`, 'commands:all']
}

export interface CommandPayload {
  id: number
  device_id: number
  method: string
  params: unknown
  state: CommandState
  result: unknown
  error: string | null
  timeout: number
  transport: 'mqtt' | 'http' | null
  created_by: number | null
  created_at: string
  sent_at: string | null
  delivered_at: string | null
  completed_at: string | null
  expires_at: string
}

/** The outbound message schema (published in the AsyncAPI document). */
export const CommandUpdateMessage = Type.Object({
  type: Type.Literal('command_update'),
  channel: Type.Literal(COMMANDS_CHANNEL),
  device_id: Type.Integer(),
  state: Type.Unsafe<CommandState>({ type: 'string', enum: [...COMMAND_STATES], description: 'the state the command just entered' }),
  command: CommandAttributes,
})

/** `{"type":"command_update","channel":"commands","device_id":…,"command":{…}}` */
export const commandsCodec: Codec = {
  encode(payload) {
    const p = payload as CommandPayload
    return JSON.stringify({ type: 'command_update', channel: COMMANDS_CHANNEL, device_id: p.device_id, state: p.state, command: p })
  },
}
