/**
 * The device commands module: the service, its routes and the `commands` channel codec.
 * Decorates `app.commands` (the MQTT module attaches device connections to it as transports).
 */
import fp from 'fastify-plugin'
import { createCommandsRepository } from './commands.repository.js'
import { createCommandsService, type CommandsService } from './commands.service.js'
import { clientCommandsRoutes, deviceCommandsRoutes } from './commands.routes.js'
import { COMMANDS_CODEC, commandsCodec } from './commands.topics.js'

declare module 'fastify' {
  interface FastifyInstance {
    commands: CommandsService
  }
}

export default fp(
  async function commandsModule(app) {
    const cfg = app.config
    const directory = app.devices.directory
    app.hub.registerCodec(COMMANDS_CODEC, commandsCodec)
    const commands = createCommandsService({
      repo: createCommandsRepository(app.db),
      hub: app.hub,
      ownerOf: async (id) => (await directory.get(id))?.ownerId ?? null,
      log: app.log.child({ module: 'commands' }),
      instanceId: app.cluster.instanceId,
      defaultTimeoutSec: cfg.COMMAND_DEFAULT_TIMEOUT,
      maxTimeoutSec: cfg.COMMAND_MAX_TIMEOUT,
      pollMs: cfg.COMMAND_POLL_INTERVAL_MS,
    })
    app.decorate('commands', commands)

    await app.register(deviceCommandsRoutes, { commands, directory })
    await app.register(
      async (client) => {
        client.addHook('onRequest', app.requireClient)
        await client.register(clientCommandsRoutes, { prefix: '/devices', commands, directory })
      },
      { prefix: '/api/client' },
    )

    app.addHook('onReady', async () => commands.start())
    app.addHook('onClose', async () => commands.stop())
  },
  { name: 'commands', dependencies: ['devices', 'realtime', 'cluster'] },
)
