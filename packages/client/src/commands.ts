/**
 * Device commands from the owner's side: send, read, list and cancel over REST, and follow
 * their state changes on the channels socket (`commands` channel). A command is persisted by
 * the server at once (QUEUED) and delivered when the device is connected; `result()` waits for
 * the outcome without polling.
 *
 *   const cmd = await client.commands.send(7, 'setLed', { on: true }, { timeout: 120 })
 *   const done = await client.commands.result(7, cmd.id)   // SUCCEEDED | FAILED | EXPIRED | CANCELLED
 */
import type { ChannelsSocket } from './channels.js'
import type { Off } from './emitter.js'
import type { Rest } from './http.js'
import type { CommandState, CommandUpdate, DeviceCommand } from './types.js'

export const FINAL_COMMAND_STATES: readonly CommandState[] = ['SUCCEEDED', 'FAILED', 'EXPIRED', 'CANCELLED']

export interface ListCommandsOptions {
  state?: CommandState
  /** Only commands with a smaller id (the next page; newest first). */
  before?: number
  /** 1-500, default 50. */
  limit?: number
}

type One = { attributes: DeviceCommand }

export class DeviceCommands {
  constructor(
    private readonly rest: Rest,
    private readonly channels: () => ChannelsSocket,
  ) {}

  /** Sends a command; resolves with it as stored (QUEUED, or already SENT if the device is connected). */
  async send(deviceId: number, method: string, params?: unknown, opts: { timeout?: number } = {}): Promise<DeviceCommand> {
    const body: Record<string, unknown> = { method }
    if (params !== undefined) body.params = params
    if (opts.timeout !== undefined) body.timeout = opts.timeout
    return (await this.rest.request<One>('POST', `/api/client/devices/${deviceId}/commands`, body)).attributes
  }

  async get(deviceId: number, commandId: number): Promise<DeviceCommand> {
    return (await this.rest.request<One>('GET', `/api/client/devices/${deviceId}/commands/${commandId}`)).attributes
  }

  /** The device's command history, newest first. */
  async list(deviceId: number, opts: ListCommandsOptions = {}): Promise<DeviceCommand[]> {
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(opts)) if (v !== undefined) q.set(k, String(v))
    const qs = q.toString()
    const res = await this.rest.request<{ data: One[] }>('GET', `/api/client/devices/${deviceId}/commands${qs ? `?${qs}` : ''}`)
    return res.data.map((d) => d.attributes)
  }

  /** Cancels a command that has no result yet (the server answers 409 otherwise). */
  async cancel(deviceId: number, commandId: number): Promise<DeviceCommand> {
    return (await this.rest.request<One>('POST', `/api/client/devices/${deviceId}/commands/${commandId}/cancel`)).attributes
  }

  /**
   * Follows the state changes of one device's commands (or all your devices' with `null`) on
   * the channels socket; the subscription is kept across reconnects. Returns the unsubscribe.
   */
  subscribe(deviceId: number | null, handler: (u: CommandUpdate) => void): Off {
    const ch = this.channels()
    const off = ch.onCommand((u) => {
      if (deviceId === null || u.device_id === deviceId) handler(u)
    })
    const unsubscribe = ch.subscribe('commands', deviceId === null ? {} : { device_id: deviceId })
    return () => {
      off()
      unsubscribe()
    }
  }

  /**
   * Resolves with the command once it is final (SUCCEEDED, FAILED, EXPIRED or CANCELLED): from
   * the channel, and from one read after subscribing, so a change in between is not missed.
   */
  result(deviceId: number, commandId: number): Promise<DeviceCommand> {
    return new Promise((resolve, reject) => {
      let settled = false
      const finish = (c: DeviceCommand) => {
        if (settled || !FINAL_COMMAND_STATES.includes(c.state)) return
        settled = true
        off()
        resolve(c)
      }
      const off = this.subscribe(deviceId, (u) => {
        if (u.command.id === commandId) finish(u.command)
      })
      const ch = this.channels()
      const check = () =>
        this.get(deviceId, commandId).then(finish, (err: unknown) => {
          if (settled) return
          settled = true
          off()
          reject(err instanceof Error ? err : new Error(String(err)))
        })
      // Read once the subscription is live (after the server acknowledged it).
      const offAck = ch.on('subscribed', (ack) => {
        if (ack.channel !== 'commands') return
        offAck()
        void check()
      })
    })
  }
}
