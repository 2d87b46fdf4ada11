/**
 * Game servers belong to a node (NODE_NAME); with several instances (REDIS_URL) a power action
 * or command received over REST by another instance is routed to the owning node through the
 * cluster and answered from there, with the owner's errors (409 power lock, 502 offline) carried
 * back. Also resolves the socket address of the node that runs a server.
 */
import type { FastifyInstance } from 'fastify'
import { BadGateway, Conflict } from '../../lib/errors.js'
import { RpcError } from '../cluster/cluster.types.js'
import type { Actor, ServersService } from './servers.service.js'
import type { ServerRow } from './servers.repository.js'
import { PowerLockedError } from './supervisor.js'

type PowerAction = 'start' | 'stop' | 'restart' | 'kill'

interface RoutedCall {
  uuid: string
  actor: Actor
}

export function createServerRouting(app: FastifyInstance, service: ServersService) {
  const node = app.config.NODE_NAME

  const local = (uuid: string): ServerRow => {
    const row = service.lookup(uuid)
    if (!row) throw new Conflict('This server is not managed by this node.')
    return row
  }

  app.cluster.handle('servers.power', async (params) => {
    const { uuid, actor, action } = params as RoutedCall & { action: PowerAction }
    try {
      await service.power(local(uuid), action, actor)
    } catch (err) {
      if (err instanceof PowerLockedError) throw new Conflict(err.message)
      throw err
    }
    return null
  })
  app.cluster.handle('servers.command', async (params) => {
    const { uuid, actor, command } = params as RoutedCall & { command: string }
    await service.command(local(uuid), command, actor)
    return null
  })

  async function remote(row: ServerRow, method: string, params: Record<string, unknown>): Promise<void> {
    try {
      await app.cluster.call(row.node, method, { uuid: row.uuid, ...params })
    } catch (err) {
      if (err instanceof RpcError && err.code === 'remote') {
        if (err.statusCode === 409) throw new Conflict(err.message)
        if (err.statusCode === 502) throw new BadGateway(err.message)
      }
      throw new BadGateway(`The node running this server (${row.node}) could not be reached.`)
    }
  }

  return {
    isLocal: (row: ServerRow) => row.node === node,

    async power(row: ServerRow, action: PowerAction, actor: Actor): Promise<void> {
      if (row.node === node) {
        try {
          await service.power(row, action, actor)
        } catch (err) {
          if (err instanceof PowerLockedError) throw new Conflict(err.message)
          throw err
        }
        return
      }
      await remote(row, 'servers.power', { action, actor })
    },

    async command(row: ServerRow, command: string, actor: Actor): Promise<void> {
      if (row.node === node) return service.command(row, command, actor)
      await remote(row, 'servers.command', { command, actor })
    },

    /**
     * ws(s):// base of the node running the server. A node that is not alive is a 502 naming it:
     * this instance's address would only lead to a socket refused with 404.
     */
    async socketBase(row: ServerRow): Promise<string> {
      const url = row.node === node ? app.config.publicUrl : await app.cluster.nodeUrl(row.node)
      if (!url) throw new BadGateway(`The node running this server (${row.node}) is not reachable; its console cannot be opened until it is back.`)
      return url.replace(/^http/, 'ws')
    },
  }
}

export type ServerRouting = ReturnType<typeof createServerRouting>
