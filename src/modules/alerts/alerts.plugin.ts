/**
 * The alerts module: alert rules per device, evaluated on every "telemetry stored" event of the
 * devices module, and the alerts they raise (stored, then published on the `alerts` channel).
 * Decorates `app.alerts`.
 */
import fp from 'fastify-plugin'
import { createAlertsService, type AlertsService } from './alerts.service.js'
import { createAlertRulesService, type AlertRulesService } from './alert-rules.service.js'
import { alertRulesRoutes, alertsRoutes } from './alerts.routes.js'
import { registerAlertCodecs } from './alerts.messages.js'

export interface AlertsModule {
  alerts: AlertsService
  rules: AlertRulesService
}

declare module 'fastify' {
  interface FastifyInstance {
    alerts: AlertsModule
  }
}

export default fp(
  async function alertsModule(app) {
    const log = app.log.child({ module: 'alerts' })
    registerAlertCodecs(app.hub)
    const alerts = createAlertsService({ prisma: app.prisma, hub: app.hub })
    const rules = createAlertRulesService({ prisma: app.prisma, alerts, log })
    app.decorate('alerts', { alerts, rules })

    app.devices.telemetryEvents.onStored(({ device, readings, at }) => rules.evaluate(device, readings, at))

    const { devices } = app.devices
    await app.register(
      async (client) => {
        client.addHook('onRequest', app.requireClient)
        await client.register(alertRulesRoutes, { prefix: '/devices', devices, rules })
        await client.register(alertsRoutes, { prefix: '/alerts', alerts })
      },
      { prefix: '/api/client' },
    )
  },
  { name: 'alerts', dependencies: ['database', 'auth', 'realtime', 'devices'] },
)
