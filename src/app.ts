/**
 * The application as one root: external plugins, infrastructure (config, database, errors,
 * auth, rate limits), then each domain module in dependency order. `server.ts` only listens.
 */
import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyServerOptions, type RouteOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from './config/config.schema.js'
import { loggerOptions } from './lib/logger.js'
import { validatorCompiler } from './plugins/infra/validation.js'
import configPlugin from './plugins/infra/config.js'
import databasePlugin from './plugins/infra/database.js'
import errorHandlerPlugin from './plugins/infra/error-handler.js'
import jsonBodyPlugin from './plugins/infra/json-body.js'
import cookiePlugin from './plugins/external/cookie.js'
import jwtPlugin from './plugins/external/jwt.js'
import rateLimitPlugin from './plugins/external/rate-limit.js'
import swaggerPlugin from './plugins/external/swagger.js'
import authPlugin from './modules/auth/auth.plugin.js'
import { authRoutes } from './modules/auth/auth.routes.js'
import { KEY_TYPE_APPLICATION, KEY_TYPE_CLIENT } from './modules/auth/api-key.format.js'
import { accountRoutes } from './modules/account/account.routes.js'
import { apiKeysRoutes } from './modules/account/api-keys.routes.js'
import { usersRoutes } from './modules/users/users.routes.js'
import { createUsersService } from './modules/users/users.service.js'
import { bootstrapAdmin, credentialsBlock, type AdminCredentials } from './modules/users/bootstrap-admin.js'
import { systemRoutes } from './modules/system/system.routes.js'
import realtimePlugin from './modules/realtime/realtime.plugin.js'
import metricsPlugin from './modules/system/metrics.plugin.js'
import clusterPlugin from './modules/cluster/cluster.plugin.js'
import serversModule from './modules/servers/servers.plugin.js'
import devicesModule from './modules/devices/devices.plugin.js'
import alertsModule from './modules/alerts/alerts.plugin.js'
import channelsModule from './modules/channels/channels.plugin.js'
import userEventsModule from './modules/user-events/user-events.plugin.js'
import dashboardModule from './modules/dashboard/dashboard.plugin.js'
import commandsModule from './modules/commands/commands.plugin.js'
import mqttModule from './modules/mqtt/mqtt.plugin.js'

export interface BuildOptions {
  /** Overrides the logger built from config (tests pass `false` or a stream). */
  logger?: FastifyServerOptions['logger']
  /** Sees every route as it is registered (tests check that each one has schemas). */
  onRoute?: (route: RouteOptions) => void
  /**
   * Receives the first start's generated credentials (server.ts prints them once listening);
   * by default they are printed to stdout at once.
   */
  onAdminCreated?: (credentials: AdminCredentials) => void
}

export async function buildApp(config: Config, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? loggerOptions(config),
    bodyLimit: config.BODY_LIMIT,
    trustProxy: config.trustProxy,
    // Node checks these timers only every connectionsCheckingInterval (30 s by default): a
    // quarter of the request timeout keeps a slow client's cut-off close to the configured one.
    requestTimeout: config.HTTP_REQUEST_TIMEOUT * 1000,
    http: {
      headersTimeout: Math.min(config.HTTP_HEADERS_TIMEOUT, config.HTTP_REQUEST_TIMEOUT) * 1000,
      connectionsCheckingInterval: Math.min(30_000, Math.max(250, config.HTTP_REQUEST_TIMEOUT * 250)),
    },
    genReqId: () => randomUUID(),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // A first embedded start runs initdb and every migration inside the database plugin, which
    // takes longer than avvio's default 10 s on a busy machine; a hung plugin still fails.
    pluginTimeout: 120_000,
  }).withTypeProvider<TypeBoxTypeProvider>()
  if (opts.onRoute) app.addHook('onRoute', opts.onRoute)

  app.setValidatorCompiler(validatorCompiler)
  // Callback style (not async): a hook on every response, where a promise per call shows up.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id)
    done(null, payload)
  })

  await app.register(configPlugin, { config })
  await app.register(errorHandlerPlugin)
  await app.register(jsonBodyPlugin)
  await app.register(swaggerPlugin)
  await app.register(cookiePlugin)
  await app.register(jwtPlugin)
  await app.register(databasePlugin)
  await app.register(authPlugin)
  await app.register(rateLimitPlugin)
  await app.register(realtimePlugin)
  await app.register(metricsPlugin)
  await app.register(clusterPlugin)

  const users = createUsersService({ prisma: app.prisma, events: app.events })

  await app.register(systemRoutes)
  await app.register(authRoutes, { prefix: '/api/auth' })
  await app.register(
    async (client) => {
      client.addHook('onRequest', app.requireClient)
      await client.register(accountRoutes, { users })
      await client.register(apiKeysRoutes, { prefix: '/account/api-keys', keyType: KEY_TYPE_CLIENT, tag: 'client: account' })
    },
    { prefix: '/api/client' },
  )
  await app.register(
    async (application) => {
      application.addHook('onRequest', app.requireAdministrator)
      await application.register(usersRoutes, { users })
    },
    { prefix: '/api/application' },
  )
  await app.register(
    async (keys) => {
      keys.addHook('onRequest', app.requireAdministrator)
      await keys.register(apiKeysRoutes, { keyType: KEY_TYPE_APPLICATION, tag: 'application: api keys' })
    },
    { prefix: '/api/application/api-keys' },
  )

  // First start: the administrator exists before any module's onReady hook runs.
  app.addHook('onReady', async () => {
    const { credentials } = await bootstrapAdmin({ cfg: config, db: app.db, users, apiKeys: app.apiKeys, log: app.log })
    if (!credentials) return
    if (opts.onAdminCreated) opts.onAdminCreated(credentials)
    else if (credentials.password || credentials.apiKey) process.stdout.write(credentialsBlock(credentials, config.publicUrl))
  })

  // Domain modules: each registers its own routes, sockets and services.
  await app.register(serversModule)
  await app.register(devicesModule)
  await app.register(alertsModule)
  await app.register(channelsModule)
  await app.register(commandsModule)
  await app.register(mqttModule)
  await app.register(userEventsModule)
  await app.register(dashboardModule)

  return app
}
