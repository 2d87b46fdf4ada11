/**
 * Device commands over HTTP. Owners (Client API, under `/api/client/devices`): send, read the
 * history, cancel. Devices (their device key as Bearer, like ingestion): long-poll for commands
 * (`GET /api/devices/:id/commands?wait=30`) and acknowledge or answer them.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import Type from 'typebox'
import { BadRequest, Conflict, Forbidden, NotFound, TooManyRequests, Unauthenticated } from '../../lib/errors.js'
import { CLIENT_SECURITY, objectSchema, plainListSchema, withErrors, wrap } from '../../lib/envelope.js'
import { FailureLimiter } from '../../lib/failure-limiter.js'
import { bearerToken } from '../auth/principal.js'
import type { DeviceDirectory, DeviceInfo } from '../devices/device-directory.js'
import { deviceOfKey } from '../devices/device-auth.js'
import type { CommandRow } from './commands.repository.js'
import {
  CommandAttributes,
  CommandListQuery,
  CommandParams,
  CreateCommandBody,
  DeviceCommandAttributes,
  DeviceReplyBody,
  MAX_PARAMS_BYTES,
  PollQuery,
} from './commands.schemas.js'
import { commandAttributes, type CommandTransport, type CommandsService } from './commands.service.js'

interface Opts {
  commands: CommandsService
  directory: DeviceDirectory
}

const DeviceIdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) })

/** Mounted under `/api/client/devices` behind the client guard. */
export const clientCommandsRoutes: FastifyPluginAsyncTypebox<Opts> = async (app, { commands, directory }) => {
  const tags = ['client: device commands']
  const security = CLIENT_SECURITY

  async function ownDevice(request: FastifyRequest, id: number): Promise<DeviceInfo> {
    const user = request.principal!.user
    const device = await directory.get(id)
    if (!device || (device.ownerId !== user.id && !user.rootAdmin)) throw new NotFound()
    return device
  }

  app.post('/:id/commands', {
    schema: {
      tags,
      security,
      summary: 'Send a command to a device: QUEUED until the device is connected, then SENT, DELIVERED, SUCCEEDED or FAILED (or EXPIRED)',
      params: DeviceIdParams,
      body: CreateCommandBody,
      response: withErrors({ 201: objectSchema('device_command', CommandAttributes) }),
    },
    handler: async (request, reply) => {
      const device = await ownDevice(request, request.params.id)
      const row = await commands.create(device, request.principal!.user.id, request.body)
      reply.code(201)
      return wrap('device_command', commandAttributes(row))
    },
  })

  app.get('/:id/commands', {
    schema: { tags, security, summary: 'Command history of a device, newest first', params: DeviceIdParams, querystring: CommandListQuery, response: withErrors({ 200: plainListSchema('device_command', CommandAttributes) }) },
    handler: async (request) => {
      const device = await ownDevice(request, request.params.id)
      const rows = await commands.list(device.id, request.query)
      return { object: 'list' as const, data: rows.map((r) => wrap('device_command', commandAttributes(r))) }
    },
  })

  app.get('/:id/commands/:commandId', {
    schema: { tags, security, summary: 'One command of a device, as it now stands', params: CommandParams, response: withErrors({ 200: objectSchema('device_command', CommandAttributes) }) },
    handler: async (request) => {
      const device = await ownDevice(request, request.params.id)
      return wrap('device_command', commandAttributes(await commands.get(device.id, request.params.commandId)))
    },
  })

  app.post('/:id/commands/:commandId/cancel', {
    schema: { tags, security, summary: 'Cancel a command that has no result yet (409 otherwise)', params: CommandParams, response: withErrors({ 200: objectSchema('device_command', CommandAttributes) }) },
    handler: async (request) => {
      const device = await ownDevice(request, request.params.id)
      return wrap('device_command', commandAttributes(await commands.cancel(device.id, request.params.commandId)))
    },
  })
}

declare module 'fastify' {
  interface FastifyRequest {
    commandDevice: DeviceInfo | null
  }
}

const deviceView = (r: CommandRow) => ({ id: r.id, method: r.method, params: r.params, expires_at: r.expires_at.toISOString() })

/** The device side, at `/api/devices/:id/commands`. */
export const deviceCommandsRoutes: FastifyPluginAsyncTypebox<Opts> = async (app, { commands, directory }) => {
  const tags = ['devices: commands']
  const failures = new FailureLimiter({ maxFailures: 30, windowMs: 60_000 })
  let polls = 0
  app.decorateRequest('commandDevice', null)

  async function authenticate(request: FastifyRequest) {
    const retry = failures.retryAfterMs(request.ip)
    if (retry > 0) throw Object.assign(new TooManyRequests(`Too many failed device authentications; retry in ${Math.ceil(retry / 1000)} seconds.`), { retryAfterSec: Math.ceil(retry / 1000) })
    const device = await deviceOfKey(directory, bearerToken(request.headers.authorization))
    if (!device) {
      failures.fail(request.ip)
      throw new Unauthenticated()
    }
    if (device.id !== Number((request.params as { id?: unknown }).id)) throw new Forbidden('This device key belongs to another device.')
    request.commandDevice = device
  }

  app.get('/api/devices/:id/commands', {
    schema: {
      tags,
      summary: 'Long poll: the commands waiting for this device (marked SENT), or an empty list after `wait` seconds; Bearer = the device key',
      security: [{ bearer: [] }],
      params: DeviceIdParams,
      querystring: PollQuery,
      response: withErrors({ 200: plainListSchema('device_command', DeviceCommandAttributes) }),
    },
    config: { rateLimit: false },
    onRequest: authenticate,
    handler: async (request, reply) => {
      const deviceId = request.commandDevice!.id
      let done = false
      let timer: NodeJS.Timeout | undefined
      const rows = await new Promise<CommandRow[]>((resolve) => {
        const finish = (list: CommandRow[]) => {
          if (done) return false
          done = true
          clearTimeout(timer)
          void commands.detach(deviceId, transport, false)
          resolve(list)
          return true
        }
        const transport: CommandTransport = { kind: 'http', ref: `poll-${++polls}`, send: (list) => !reply.raw.destroyed && finish(list) }
        // A poll that ends without an answer (client gone) took nothing: nothing to requeue.
        reply.raw.once('close', () => finish([]))
        timer = setTimeout(() => finish([]), request.query.wait * 1000)
        void commands.attach(deviceId, transport).then(() => {
          if (request.query.wait === 0) finish([])
        })
      })
      return { object: 'list' as const, data: rows.map((r) => wrap('device_command', deviceView(r))) }
    },
  })

  app.post('/api/devices/:id/commands/:commandId', {
    schema: {
      tags,
      summary: 'Acknowledge ({}) or answer ({"result":…} or {"error":"…"}) a command; Bearer = the device key',
      security: [{ bearer: [] }],
      params: CommandParams,
      body: DeviceReplyBody,
      response: withErrors({ 200: objectSchema('command_receipt', Type.Object({ id: Type.Integer(), state: CommandAttributes.properties.state })) }),
    },
    config: { rateLimit: false },
    onRequest: authenticate,
    handler: async (request) => {
      const deviceId = request.commandDevice!.id
      const body = request.body
      if (body.result !== undefined && body.error !== undefined) throw new BadRequest('Send either `result` or `error`, not both.')
      if (body.result !== undefined && Buffer.byteLength(JSON.stringify(body.result)) > MAX_PARAMS_BYTES) {
        throw new BadRequest(`result: at most ${MAX_PARAMS_BYTES} bytes of JSON.`)
      }
      const outcome = body.error !== undefined ? { error: body.error } : body.result !== undefined ? { result: body.result } : { ack: true as const }
      const row = await commands.reply(deviceId, request.params.commandId, outcome)
      if (!row) throw new NotFound()
      const wanted = 'ack' in outcome ? ['DELIVERED', 'SUCCEEDED', 'FAILED'] : ['error' in outcome ? 'FAILED' : 'SUCCEEDED']
      if (!wanted.includes(row.state)) throw new Conflict(`The command is ${row.state}; it takes no ${'ack' in outcome ? 'acknowledgement' : 'answer'} any more.`)
      return wrap('command_receipt', { id: row.id, state: row.state })
    },
  })
}
