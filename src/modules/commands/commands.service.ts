/**
 * Device commands: persisted, delivered only over a live connection, and every state change
 * published once on the `commands` channel.
 *
 * A transport is one way to reach one connected device (its MQTT connection, a pending HTTP
 * long-poll, the external broker while the device reports itself online). Transports attach
 * and detach as devices come and go; commands are handed only to an attached transport, so a
 * command to an offline device stays QUEUED. Delivery is claimed by compare-and-set in the
 * database (`owner` = this instance and transport), so with several instances exactly one sends
 * each command. Commands created on another instance are found by a periodic look at the
 * queued commands of the devices attached here; the same timer expires overdue commands.
 *
 * Every step of one device runs through that device's promise chain, so its transitions are
 * recorded and published in order.
 */
import type { FastifyBaseLogger } from 'fastify'
import { BadRequest, Conflict, NotFound } from '../../lib/errors.js'
import type { Hub } from '../realtime/hub.js'
import type { DeviceInfo } from '../devices/device-directory.js'
import type { CommandRow, CommandsRepository } from './commands.repository.js'
import { MAX_PARAMS_BYTES, OPEN_STATES, type CommandState } from './commands.schemas.js'
import { COMMANDS_CODEC, commandTopics, type CommandPayload } from './commands.topics.js'

export interface CommandTransport {
  readonly kind: 'mqtt' | 'http'
  /** Unique among this instance's transports (a connection id). */
  readonly ref: string
  /** Hands commands to the device; false when the connection is already gone. */
  send(commands: CommandRow[]): boolean | Promise<boolean>
}

export type CommandOutcome = { result: unknown } | { error: string } | { ack: true }

export interface CommandsDeps {
  repo: CommandsRepository
  hub: Hub
  /** Owner of a device, for the owner topic (null when the device is gone). */
  ownerOf(deviceId: number): Promise<number | null>
  log: FastifyBaseLogger
  instanceId: string
  defaultTimeoutSec: number
  maxTimeoutSec: number
  pollMs: number
}

export function commandAttributes(row: CommandRow): CommandPayload {
  const iso = (d: Date | null) => (d ? d.toISOString() : null)
  return {
    id: row.id,
    device_id: row.device_id,
    method: row.method,
    params: row.params,
    state: row.state,
    result: row.result ?? null,
    error: row.error,
    timeout: row.timeout_sec,
    transport: row.transport,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
    sent_at: iso(row.sent_at),
    delivered_at: iso(row.delivered_at),
    completed_at: iso(row.completed_at),
    expires_at: row.expires_at.toISOString(),
  }
}

export function createCommandsService(deps: CommandsDeps) {
  const { repo, hub, log } = deps
  const transports = new Map<number, CommandTransport>()
  const chains = new Map<number, Promise<unknown>>()
  let timer: NodeJS.Timeout | null = null
  let ticking = false

  const ownerRef = (t: CommandTransport) => `${deps.instanceId}/${t.kind}/${t.ref}`

  /** Runs `step` after the device's previous steps; errors reach the caller, not the chain. */
  function serial<T>(deviceId: number, step: () => Promise<T>): Promise<T> {
    const prev = chains.get(deviceId) ?? Promise.resolve()
    const run = prev.then(step)
    const settled = run.catch(() => {})
    chains.set(deviceId, settled)
    void settled.then(() => {
      if (chains.get(deviceId) === settled) chains.delete(deviceId)
    })
    return run
  }

  async function publish(row: CommandRow): Promise<void> {
    const ownerId = await deps.ownerOf(row.device_id)
    if (ownerId === null) return
    hub.publish({ topics: commandTopics(row.device_id, ownerId), codec: COMMANDS_CODEC, payload: commandAttributes(row), lane: 'reliable' })
  }

  async function publishAll(rows: CommandRow[]): Promise<void> {
    for (const r of rows) await publish(r)
  }

  /** Sends what is queued for the device over its attached transport (inside its chain). */
  async function dispatchNow(deviceId: number): Promise<void> {
    const t = transports.get(deviceId)
    if (!t) return
    const owner = ownerRef(t)
    const rows = await repo.claim(deviceId, owner, t.kind)
    if (rows.length === 0) return
    await publishAll(rows)
    let ok = false
    try {
      ok = transports.get(deviceId) === t && (await t.send(rows))
    } catch (err) {
      log.warn({ err, deviceId }, 'could not send commands to a device')
    }
    if (!ok) await publishAll(await repo.requeue(deviceId, { owner }))
  }

  function kick(deviceId: number): void {
    if (!transports.has(deviceId)) return
    serial(deviceId, () => dispatchNow(deviceId)).catch((err) => log.error({ err, deviceId }, 'command dispatch failed'))
  }

  /** Expires overdue commands and picks up commands queued on other instances. */
  async function tick(): Promise<void> {
    if (ticking) return
    ticking = true
    try {
      for (const row of await repo.expire()) void serial(row.device_id, () => publish(row)).catch(() => {})
      for (const id of await repo.devicesWithQueued([...transports.keys()])) kick(id)
    } catch (err) {
      log.warn({ err }, 'command sweep failed')
    } finally {
      ticking = false
    }
  }

  return {
    async create(device: DeviceInfo, userId: number, body: { method: string; params?: unknown; timeout?: number | undefined }): Promise<CommandRow> {
      const params = body.params === undefined ? {} : body.params
      const size = Buffer.byteLength(JSON.stringify(params))
      if (size > MAX_PARAMS_BYTES) throw new BadRequest(`params: at most ${MAX_PARAMS_BYTES} bytes of JSON (got ${size}).`)
      const timeoutSec = body.timeout ?? deps.defaultTimeoutSec
      if (timeoutSec > deps.maxTimeoutSec) throw new BadRequest(`timeout: at most ${deps.maxTimeoutSec} seconds (COMMAND_MAX_TIMEOUT).`)
      return serial(device.id, async () => {
        const row = await repo.insert({ deviceId: device.id, createdBy: userId, method: body.method, params, timeoutSec })
        if (!row) throw new NotFound()
        await publish(row)
        await dispatchNow(device.id)
        return (await repo.get(device.id, row.id)) ?? row
      })
    },

    get: async (deviceId: number, id: number) => {
      const row = await repo.get(deviceId, id)
      if (!row) throw new NotFound()
      return row
    },

    list: (deviceId: number, q: { state?: CommandState | undefined; before?: number | undefined; limit: number }) => repo.list(deviceId, q),

    async cancel(deviceId: number, id: number): Promise<CommandRow> {
      return serial(deviceId, async () => {
        const row = await repo.cancel(deviceId, id)
        if (row) {
          await publish(row)
          return row
        }
        const cur = await repo.get(deviceId, id)
        if (!cur) throw new NotFound()
        throw new Conflict(`The command is already ${cur.state}; only ${OPEN_STATES.join(', ')} commands can be cancelled.`)
      })
    },

    /**
     * The device acknowledged (`ack`) or answered a command. An answer to a command still SENT
     * records DELIVERED first: the device evidently has it. Returns the command as it now
     * stands, or null when it is not this device's.
     */
    async reply(deviceId: number, id: number, outcome: CommandOutcome): Promise<CommandRow | null> {
      return serial(deviceId, async () => {
        const d = await repo.delivered(deviceId, id)
        if (d) await publish(d)
        if ('ack' in outcome) return d ?? repo.get(deviceId, id)
        const f = await repo.finish(deviceId, id, outcome)
        if (f) await publish(f)
        return f ?? repo.get(deviceId, id)
      })
    },

    /** A connection that can carry commands to the device is up: send what waits for it. */
    attach(deviceId: number, t: CommandTransport): Promise<void> {
      transports.set(deviceId, t)
      // Commands sent over an earlier connection and never acknowledged are sent again.
      return serial(deviceId, async () => {
        await publishAll(await repo.requeue(deviceId, { notOwner: ownerRef(t) }))
        await dispatchNow(deviceId)
      }).catch((err) => log.error({ err, deviceId }, 'command dispatch failed'))
    },

    /** The connection is gone; with `requeue`, its unacknowledged commands wait for the next one. */
    detach(deviceId: number, t: CommandTransport, requeue: boolean): Promise<void> {
      if (transports.get(deviceId) === t) transports.delete(deviceId)
      if (!requeue) return Promise.resolve()
      return serial(deviceId, async () => publishAll(await repo.requeue(deviceId, { owner: ownerRef(t) }))).catch((err) =>
        log.error({ err, deviceId }, 'could not requeue commands'),
      )
    },

    attached: (deviceId: number) => transports.get(deviceId),

    start(): void {
      timer = setInterval(() => void tick(), deps.pollMs)
      timer.unref()
    },

    /** One sweep now (tests and the bench use it to avoid waiting for the timer). */
    tick,

    async stop(): Promise<void> {
      if (timer) clearInterval(timer)
      timer = null
      await Promise.all([...chains.values()])
    },
  }
}

export type CommandsService = ReturnType<typeof createCommandsService>
