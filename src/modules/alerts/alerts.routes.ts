/**
 * Alert rules per device (`/api/client/devices/:id/alert-rules`) and alerts
 * (`/api/client/alerts`, with acknowledge/resolve). Both sit behind the client guard.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { CLIENT_SECURITY, listSchema, objectSchema, page, plainListSchema, withErrors, wrap } from '../../lib/envelope.js'
import { DeviceParams } from '../devices/devices.schemas.js'
import type { DevicesService } from '../devices/devices.service.js'
import { ruleAttributes, type AlertRulesService } from './alert-rules.service.js'
import { AlertAttributes, AlertListQuery, AlertParams, CreateRuleBody, RuleAttributes, RuleParams, UpdateRuleBody } from './alerts.schemas.js'
import { alertAttributes, type AlertsService } from './alerts.service.js'

export const alertRulesRoutes: FastifyPluginAsyncTypebox<{ devices: DevicesService; rules: AlertRulesService }> = async (app, { devices, rules }) => {
  const tags = ['client: alert rules']
  const security = CLIENT_SECURITY
  const mine = (deviceId: number, userId: number) => devices.get(deviceId, userId)

  app.get('/:id/alert-rules', {
    schema: { summary: "List a device's alert rules", tags, security, params: DeviceParams, response: withErrors({ 200: plainListSchema('alert_rule', RuleAttributes) }) },
    handler: async (request) => {
      await mine(request.params.id, request.principal!.user.id)
      const rows = await rules.list(request.params.id)
      return { object: 'list' as const, data: rows.map((r) => wrap('alert_rule', ruleAttributes(r))) }
    },
  })

  app.post('/:id/alert-rules', {
    schema: { summary: 'Create an alert rule on a device', tags, security, params: DeviceParams, body: CreateRuleBody, response: withErrors({ 201: objectSchema('alert_rule', RuleAttributes) }) },
    handler: async (request, reply) => {
      await mine(request.params.id, request.principal!.user.id)
      const row = await rules.create(request.params.id, request.body)
      reply.code(201)
      return wrap('alert_rule', ruleAttributes(row))
    },
  })

  app.get('/:id/alert-rules/:ruleId', {
    schema: { summary: 'One alert rule of a device', tags, security, params: RuleParams, response: withErrors({ 200: objectSchema('alert_rule', RuleAttributes) }) },
    handler: async (request) => {
      await mine(request.params.id, request.principal!.user.id)
      return wrap('alert_rule', ruleAttributes(await rules.get(request.params.id, request.params.ruleId)))
    },
  })

  app.patch('/:id/alert-rules/:ruleId', {
    schema: { summary: 'Change an alert rule', tags, security, params: RuleParams, body: UpdateRuleBody, response: withErrors({ 200: objectSchema('alert_rule', RuleAttributes) }) },
    handler: async (request) => {
      await mine(request.params.id, request.principal!.user.id)
      return wrap('alert_rule', ruleAttributes(await rules.update(request.params.id, request.params.ruleId, request.body)))
    },
  })

  app.delete('/:id/alert-rules/:ruleId', {
    schema: { summary: 'Delete an alert rule', tags, security, params: RuleParams, response: withErrors({ 204: Type.Null() }) },
    handler: async (request, reply) => {
      await mine(request.params.id, request.principal!.user.id)
      await rules.remove(request.params.id, request.params.ruleId)
      return reply.code(204).send(null)
    },
  })
}

export const alertsRoutes: FastifyPluginAsyncTypebox<{ alerts: AlertsService }> = async (app, { alerts }) => {
  const tags = ['client: alerts']
  const security = CLIENT_SECURITY
  const csv = (s: string | undefined) => (s ? s.split(',') : undefined)

  app.get('/', {
    schema: {
      tags,
      security,
      summary: "Alerts of the caller's devices (administrators: every device); newest first, or oldest first after `since`",
      querystring: AlertListQuery,
      response: withErrors({ 200: listSchema('alert', AlertAttributes) }),
    },
    handler: async (request) => {
      const q = request.query
      const { rows, total } = await alerts.list(
        request.principal!.user,
        { severity: csv(q.severity), status: csv(q.status), device_id: q.device_id, since: q.since },
        q,
      )
      return page('alert', rows.map(alertAttributes), total, q)
    },
  })

  app.get('/:id', {
    schema: { summary: 'One alert', tags, security, params: AlertParams, response: withErrors({ 200: objectSchema('alert', AlertAttributes) }) },
    handler: async (request) => wrap('alert', alertAttributes(await alerts.get(request.params.id, request.principal!.user))),
  })

  app.post('/:id/acknowledge', {
    schema: { summary: 'Acknowledge an alert', tags, security, params: AlertParams, response: withErrors({ 200: objectSchema('alert', AlertAttributes) }) },
    handler: async (request) => wrap('alert', alertAttributes(await alerts.acknowledge(request.params.id, request.principal!.user))),
  })

  app.post('/:id/resolve', {
    schema: { summary: 'Resolve an alert', tags, security, params: AlertParams, response: withErrors({ 200: objectSchema('alert', AlertAttributes) }) },
    handler: async (request) => wrap('alert', alertAttributes(await alerts.resolve(request.params.id, request.principal!.user))),
  })
}
