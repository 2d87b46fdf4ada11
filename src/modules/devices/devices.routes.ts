/**
 * Devices over the Client API (`/api/client/devices`, the caller's own devices) and the
 * Application API (`/api/application/devices`, every device, read-only, administrators).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { APPLICATION_SECURITY, CLIENT_SECURITY, listSchema, objectSchema, page, withErrors, wrap } from '../../lib/envelope.js'
import { CreateDeviceBody, CreatedDevice, DeviceAttributes, DeviceListQuery, DeviceParams, UpdateDeviceBody } from './devices.schemas.js'
import type { DevicesService } from './devices.service.js'

export const clientDevicesRoutes: FastifyPluginAsyncTypebox<{ devices: DevicesService }> = async (app, { devices }) => {
  const tags = ['client: devices']
  const security = CLIENT_SECURITY

  app.get('/', {
    schema: { summary: "The caller's devices (paginated)", tags, security, querystring: Type.Omit(DeviceListQuery, ['owner_id']), response: withErrors({ 200: listSchema('device', DeviceAttributes) }) },
    handler: async (request) => {
      const { rows, total } = await devices.list(request.principal!.user.id, request.query)
      return page('device', rows.map(devices.attributes), total, request.query)
    },
  })

  app.get('/:id', {
    schema: { summary: "One of the caller's devices", tags, security, params: DeviceParams, response: withErrors({ 200: objectSchema('device', DeviceAttributes) }) },
    handler: async (request) => wrap('device', devices.attributes(await devices.get(request.params.id, request.principal!.user.id))),
  })

  app.post('/', {
    schema: { tags, security, summary: 'Create a device; the device key is in meta.device_key, shown once', body: CreateDeviceBody, response: withErrors({ 201: CreatedDevice }) },
    handler: async (request, reply) => {
      const { row, key } = await devices.create(request.principal!.user.id, request.body)
      reply.code(201)
      return { ...wrap('device', devices.attributes(row)), meta: { device_key: key } }
    },
  })

  app.patch('/:id', {
    schema: { summary: "Change a device's name, type or metadata", tags, security, params: DeviceParams, body: UpdateDeviceBody, response: withErrors({ 200: objectSchema('device', DeviceAttributes) }) },
    handler: async (request) => {
      const row = await devices.update(request.params.id, request.principal!.user.id, request.body)
      return wrap('device', devices.attributes(row))
    },
  })

  app.post('/:id/rotate-key', {
    schema: { tags, security, summary: 'Replace the device key (the old one stops working)', params: DeviceParams, response: withErrors({ 200: CreatedDevice }) },
    handler: async (request) => {
      const { row, key } = await devices.rotateKey(request.params.id, request.principal!.user.id)
      return { ...wrap('device', devices.attributes(row)), meta: { device_key: key } }
    },
  })

  app.delete('/:id', {
    schema: { summary: 'Delete a device and its telemetry', tags, security, params: DeviceParams, response: withErrors({ 204: Type.Null() }) },
    handler: async (request, reply) => {
      await devices.remove(request.params.id, request.principal!.user.id)
      return reply.code(204).send(null)
    },
  })
}

export const applicationDevicesRoutes: FastifyPluginAsyncTypebox<{ devices: DevicesService }> = async (app, { devices }) => {
  const tags = ['application: devices']
  const security = APPLICATION_SECURITY

  app.get('/', {
    schema: { summary: 'Every device, optionally of one owner (paginated)', tags, security, querystring: DeviceListQuery, response: withErrors({ 200: listSchema('device', DeviceAttributes) }) },
    handler: async (request) => {
      const { rows, total } = await devices.list(request.query.owner_id ?? null, request.query)
      return page('device', rows.map(devices.attributes), total, request.query)
    },
  })

  app.get('/:id', {
    schema: { summary: 'One device by id', tags, security, params: DeviceParams, response: withErrors({ 200: objectSchema('device', DeviceAttributes) }) },
    handler: async (request) => wrap('device', devices.attributes(await devices.get(request.params.id, null))),
  })
}
