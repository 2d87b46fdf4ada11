/**
 * Telemetry over HTTP: ingestion by devices (`POST /api/devices/:id/telemetry` with the device
 * key as Bearer; not an API key, so not behind the API guards or the per-IP API rate limit) and
 * history for owners (`GET /api/client/devices/:id/telemetry`, raw or bucketed).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import Type from 'typebox'
import { Forbidden, TooManyRequests, Unauthenticated } from '../../lib/errors.js'
import { CLIENT_SECURITY, plainListSchema, withErrors, wrap } from '../../lib/envelope.js'
import { FailureLimiter } from '../../lib/failure-limiter.js'
import type { DeviceDirectory, DeviceInfo } from './device-directory.js'
import { deviceKeyFromHeader, deviceSecretMatches } from './device-key.js'
import type { DevicesService } from './devices.service.js'
import { BucketAttributes, DeviceParams, HistoryQuery, IngestReceipt, LatestAttributes, ReadingAttributes, ingestBodySchema } from './devices.schemas.js'
import type { IngestService } from './telemetry.ingest.js'
import { latestValues, telemetryHistory, telemetryBuckets, parseInterval } from './telemetry.history.js'
import { parseTimestamp } from './telemetry.normalize.js'
import { typeboxValidatorCompiler } from './typebox-compiler.js'
import type { FastifySchemaCompiler } from 'fastify'

/**
 * Ingestion bodies are checked by telemetry.normalize.ts (field-precise messages for every
 * accepted form, shared with other transports); the body schema only documents them.
 */
const ingestValidatorCompiler: FastifySchemaCompiler<unknown> = (route) =>
  route.httpPart === 'body' ? () => true : typeboxValidatorCompiler(route)

declare module 'fastify' {
  interface FastifyRequest {
    telemetryDevice: DeviceInfo | null
  }
  interface FastifyContextConfig {
    /** Status of schema failures on this route (read by the root error handler; default 422). */
    validationStatus?: number
  }
}

/** A 400 naming the field, in the same shape as a schema failure. */
function badField(field: string, message: string): Error {
  return Object.assign(new Error(`${field} ${message}`), {
    statusCode: 400,
    validationContext: 'body',
    validation: [{ instancePath: `/${field}`, keyword: 'required', params: {}, message }],
  })
}

/** A history bound: any storable date-time, a leap second read as the next second. */
function timeParam(text: string | undefined, field: string): Date | undefined {
  if (text === undefined) return undefined
  const ms = parseTimestamp(text, null)
  if (typeof ms === 'string') throw Object.assign(badField(field, ms), { validationContext: 'querystring', statusCode: 422 })
  return new Date(ms)
}

export const ingestRoutes: FastifyPluginAsyncTypebox<{ directory: DeviceDirectory; ingest: IngestService }> = async (app, { directory, ingest }) => {
  const cfg = app.config
  // Bad device keys per IP: after 30 failures in a minute the IP waits (brute-force guard).
  const failures = new FailureLimiter({ maxFailures: 30, windowMs: 60_000 })
  app.decorateRequest('telemetryDevice', null)

  async function authenticateDevice(request: FastifyRequest) {
    const retry = failures.retryAfterMs(request.ip)
    if (retry > 0) throw Object.assign(new TooManyRequests(`Too many failed device authentications; retry in ${Math.ceil(retry / 1000)} seconds.`), { retryAfterSec: Math.ceil(retry / 1000) })
    const id = Number((request.params as { id?: string }).id)
    const key = deviceKeyFromHeader(request.headers.authorization)
    const device = key ? await directory.byKeyIdentifier(key.identifier) : null
    if (!key || !device || !deviceSecretMatches(key.secret, device.keySecretHash)) {
      failures.fail(request.ip)
      throw new Unauthenticated()
    }
    if (device.id !== id) throw new Forbidden('This device key belongs to another device.')
    request.telemetryDevice = device
  }

  app.post('/api/devices/:id/telemetry', {
    schema: {
      tags: ['devices: ingestion'],
      summary: 'Store telemetry of one device (one reading or a batch); Bearer = the device key',
      security: [{ bearer: [] }],
      // A string pattern: this route's TypeBox validator does not coerce (see typebox-compiler.ts).
      params: Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,9}$', description: 'device id' }) }),
      body: ingestBodySchema(cfg.TELEMETRY_MAX_READINGS),
      response: withErrors({ 201: IngestReceipt }),
    },
    // 400, not the 422 of other routes: the device API's contract since the first release, and
    // what device firmware written for ThingsBoard-style APIs expects for a bad payload.
    config: { validationStatus: 400, rateLimit: false },
    validatorCompiler: ingestValidatorCompiler,
    onRequest: authenticateDevice,
    handler: async (request, reply) => {
      const device = request.telemetryDevice!
      const result = await ingest.ingest(device, request.body)
      reply.code(201)
      return wrap('telemetry_receipt', { device_id: device.id, readings: result.readings, stored: result.stored })
    },
  })
}

export const historyRoutes: FastifyPluginAsyncTypebox<{ devices: DevicesService }> = async (app, { devices }) => {
  const tags = ['client: devices']
  app.get('/:id/latest', {
    schema: {
      tags,
      security: CLIENT_SECURITY,
      summary: 'The latest reading of each metric the device has posted',
      params: DeviceParams,
      response: withErrors({ 200: plainListSchema('telemetry_latest', LatestAttributes) }),
    },
    handler: async (request) => {
      const device = await devices.get(request.params.id, request.principal!.user.id)
      const rows = await latestValues(app.db, device.id)
      return { object: 'list' as const, data: rows.map((r) => wrap('telemetry_latest', r)) }
    },
  })
  app.get('/:id/telemetry', {
    schema: {
      tags,
      security: CLIENT_SECURITY,
      summary: 'Stored readings (oldest first), or min/max/avg per `interval` bucket',
      params: DeviceParams,
      querystring: HistoryQuery,
      response: withErrors({
        200: Type.Union([plainListSchema('telemetry_reading', ReadingAttributes), plainListSchema('telemetry_bucket', BucketAttributes)]),
      }),
    },
    handler: async (request) => {
      const device = await devices.get(request.params.id, request.principal!.user.id)
      const q = request.query
      const range = { from: timeParam(q.from, 'from'), to: timeParam(q.to, 'to') }
      if (q.interval !== undefined) {
        const seconds = parseInterval(q.interval)
        if (seconds === null) throw badField('interval', 'must be between 1 second and 366 days')
        const rows = await telemetryBuckets(app.db, device.id, { metric: q.metric, ...range, limit: q.limit, seconds })
        return { object: 'list' as const, data: rows.map((r) => wrap('telemetry_bucket', r)) }
      }
      const rows = await telemetryHistory(app.db, device.id, { metric: q.metric, ...range, limit: q.limit })
      return { object: 'list' as const, data: rows.map((r) => wrap('telemetry_reading', r)) }
    },
  })
}
