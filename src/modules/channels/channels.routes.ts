/**
 * The channel socket routes (`/ws` for every channel, `/ws/<channel>` for one) behind the
 * pre-upgrade Origin guard, and the credential endpoint `GET /api/client/websocket` that hands
 * a browser or script a short-lived channels token and the socket address.
 */
import type { FastifyPluginAsync } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { CLIENT_SECURITY, withErrors } from '../../lib/envelope.js'
import { credentialRef } from '../auth/principal.js'
import { ChannelSocket, MAX_AUTH_FAILURES, type ChannelDeps } from './channel-socket.js'
import type { ChannelName } from './channels.topics.js'

const Credentials = Type.Object({
  data: Type.Object({
    token: Type.String({ description: 'send as {"type":"auth","token":…}; valid SOCKET_TOKEN_TTL seconds' }),
    socket: Type.String({ description: 'ws(s)://…/ws' }),
  }),
})

/** GET /api/client/websocket (mounted under the client prefix and guard). */
export const channelCredentialsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/websocket', {
    schema: { tags: ['client: channels'], security: CLIENT_SECURITY, summary: 'Token and address of the IoT channel socket', response: withErrors({ 200: Credentials }) },
    handler: async (request) => {
      const p = request.principal!
      const token = app.socketTokens.sign({ userUuid: p.user.uuid, userId: p.user.id, permissions: [], scope: 'channels', cred: credentialRef(p) })
      const socket = app.config.publicUrl.replace(/^http/, 'ws').replace(/\/$/, '') + '/ws'
      return { data: { token, socket } }
    },
  })
}

const ROUTES: Array<[string, ChannelName | null]> = [
  ['/ws', null],
  ['/ws/telemetry', 'telemetry'],
  ['/ws/alerts', 'alerts'],
  ['/ws/devices', 'devices'],
  ['/ws/system', 'system'],
  ['/ws/commands', 'commands'],
]

/** The family's connection kind (metrics label, the session index's counts). */
export const CHANNELS_KIND = 'channels'

export const channelSocketRoutes: FastifyPluginAsync<{ deps: ChannelDeps }> = async (app, { deps }) => {
  const cfg = app.config
  const family = {
    kind: CHANNELS_KIND,
    limits: {
      maxMessageBytes: cfg.WS_MAX_MESSAGE_BYTES, messagesPerSecond: cfg.WS_MESSAGES_PER_SECOND, burst: cfg.WS_MESSAGES_PER_SECOND,
      authTimeoutSec: cfg.CHANNEL_AUTH_TIMEOUT, maxAuthFailures: MAX_AUTH_FAILURES,
    },
  }
  for (const [path, only] of ROUTES) {
    app.sockets.route(path, family, () => null, (session) => new ChannelSocket(session, deps, only))
  }
}
