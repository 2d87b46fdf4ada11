/**
 * Game-server consoles: wires the supervisor, the Wings-compatible console socket, the Client
 * and Application API routes, start-up re-attach to games that kept running and restore of the
 * ones that should run, the embedded demo server, who starts the holders (wirehub or the
 * launcher) and the sandbox and limit detection (isolation.ts, logged and reported on `/ready`), and the shutdown that leaves games running (or stops them with
 * SERVERS_STOP_ON_SHUTDOWN).
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fp from 'fastify-plugin'
import { logsRoutes } from './logs.routes.js'
import { Isolation } from './isolation.js'
import { launcherSpawner, localSpawner } from './spawner.js'
import { createConsoleSockets } from './console.socket.js'
import { activityRoutes } from './activity.routes.js'
import { serversApplicationRoutes } from './servers.application.routes.js'
import { createServersRepository } from './servers.repository.js'
import { serversRoutes } from './servers.routes.js'
import { createServersService, type RevocationHooks, type ServersService } from './servers.service.js'
import { createSubusersService } from './subusers.service.js'
import { createServerRouting } from './servers.cluster.js'
import { subusersRoutes } from './subusers.routes.js'
import { Supervisor, WIREHUB_DIR } from './supervisor.js'

/** The demo game server script (plain Node, no dependencies). */
export const DEMO_SERVER_SCRIPT = fileURLToPath(new URL('./demo/demo-server.mjs', import.meta.url))
/** How the demo server's script is stored: relative to the installation, which may move. */
export const DEMO_SERVER_ARG = '$WIREHUB_DIR/' + DEMO_SERVER_SCRIPT.slice(WIREHUB_DIR.length + 1)
/** Disk usage of a running server's folder is walked this often (off the stats path). */
const DISK_INTERVAL_MS = 15_000
/** Wings' default container pid limit. */
const PIDS_LIMIT = 512

declare module 'fastify' {
  interface FastifyInstance {
    /** How game servers are started and isolated on this node (for `/ready`). */
    serversIsolation: Isolation
  }
}

export default fp(
  async function serversModule(app) {
    const cfg = app.config
    const log = app.log.child({ module: 'servers' })
    const repo = createServersRepository(app.prisma)
    let service: ServersService | undefined
    const sockets = createConsoleSockets(app, () => service!)
    const isolation = new Isolation({
      mode: cfg.SERVERS_SANDBOX,
      serversUser: cfg.SERVERS_USER,
      dataDir: cfg.DATA_DIR,
      cgroupOverride: cfg.SERVERS_CGROUP,
      spawner: cfg.SERVERS_LAUNCHER ? launcherSpawner(cfg.SERVERS_LAUNCHER) : localSpawner(),
      log,
    })
    // Re-attach needs no launcher (pids and files); a launcher that is down only blocks starts.
    await isolation.ensure()
    app.decorate('serversIsolation', isolation)
    const supervisor = new Supervisor({
      stopTimeoutMs: cfg.STOP_TIMEOUT * 1000,
      statsIntervalMs: cfg.STATS_INTERVAL_MS,
      diskIntervalMs: DISK_INTERVAL_MS,
      bufferLines: cfg.CONSOLE_BUFFER_LINES,
      throttleLines: cfg.CONSOLE_THROTTLE_LINES,
      throttlePeriodMs: cfg.CONSOLE_THROTTLE_PERIOD_MS,
      log,
      dataDir: cfg.DATA_DIR,
      logMaxBytes: cfg.CONSOLE_LOG_MAX_BYTES,
      logFiles: cfg.CONSOLE_LOG_FILES,
      stopOnShutdown: cfg.SERVERS_STOP_ON_SHUTDOWN,
      isolation,
      pidsLimit: PIDS_LIMIT,
      hiddenDirs: (uuid) => service?.otherFolders(uuid) ?? [],
      hiddenFiles: [join(process.cwd(), '.env'), ...(process.env.CONFIG_FILE ? [process.env.CONFIG_FILE] : [])],
      sink: {
        state: sockets.publishState,
        line: sockets.publishLine,
        stats: sockets.publishStats,
        desired: (uuid, desired) => {
          repo.setDesired(uuid, desired).catch((err: unknown) => log.warn({ err, serverId: uuid }, 'could not persist desired state'))
        },
      },
    })
    // Access changes become domain events; the realtime core's revocation path acts on them once.
    const hooks: RevocationHooks = {
      accessChanged: (userId, serverUuid) => app.events.emit('server.access', { serverUuid, userId }),
      serverChanged: (serverUuid) => app.events.emit('server.access', { serverUuid, userId: null }),
      serverClosed: (serverUuid, why) => app.events.emit(why === 'suspended' ? 'server.suspended' : 'server.deleted', { serverUuid }),
    }
    service = createServersService({ repo, supervisor, cfg, log, hooks })
    const subusers = createSubusersService({ repo, servers: service })
    const svc = service
    const routing = createServerRouting(app, svc)

    await app.register(
      async (client) => {
        client.addHook('onRequest', app.requireClient)
        await client.register(serversRoutes, { service: svc, routing })
        await client.register(subusersRoutes, { service: svc, subusers })
        await client.register(activityRoutes, { service: svc, repo })
        await client.register(logsRoutes, { service: svc })
      },
      { prefix: '/api/client' },
    )
    await app.register(
      async (application) => {
        application.addHook('onRequest', app.requireAdministrator)
        await application.register(serversApplicationRoutes, { service: svc })
      },
      { prefix: '/api/application' },
    )

    app.addHook('onReady', async () => {
      const running = await svc.load()
      await supervisor.ready()
      // First start of an embedded instance: one living console for the newcomer.
      if (cfg.DEMO_SERVER ?? cfg.embedded) {
        const admin = (await repo.count()) === 0 ? await app.prisma.user.findFirst({ where: { rootAdmin: true }, orderBy: { id: 'asc' } }) : null
        if (admin) {
          const row = await svc.create({
            name: 'Demo game server',
            description: 'A small script that behaves like a game server (help, list, say <text>, stop).',
            user: admin.id,
            command: 'node',
            args: [DEMO_SERVER_ARG],
            done_pattern: '\\]: Done \\(',
            stop: { type: 'command', value: 'stop' },
          })
          log.info({ serverId: row.uuid }, 'demo game server created')
          running.push(row)
        }
      }
      svc.restore(running)
    })

    app.addHook('onClose', async () => {
      await supervisor.shutdown()
    })
  },
  { name: 'servers', dependencies: ['auth', 'realtime', 'cluster'] },
)
