/** Decorates `app.config` with the validated configuration (see config/config.schema.ts). */
import fp from 'fastify-plugin'
import type { Config } from '../../config/config.schema.js'
import { DomainEvents } from '../../lib/domain-events.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    events: DomainEvents
  }
}

export default fp(
  async function configPlugin(app, opts: { config: Config }) {
    const cfg = opts.config
    app.decorate('config', cfg)
    app.decorate('events', new DomainEvents())
    // PORT=0 binds a free port: the default public URL must name the port actually bound. Runs
    // first among onListen hooks, so later ones (the cluster's node announcement) see it.
    // Graceful close: node's server.close() reaps only the connections idle at that instant; a
    // keep-alive connection whose request was in flight would then linger for keepAliveTimeout
    // (72 s). Responses sent while closing say `Connection: close`, and idle connections are
    // reaped until the server is closed.
    let closing = false
    let reaper: NodeJS.Timeout | null = null
    app.addHook('preClose', async () => {
      closing = true
      reaper = setInterval(() => app.server.closeIdleConnections(), 50)
      reaper.unref()
    })
    app.addHook('onSend', (_request, reply, payload, done) => {
      if (closing) reply.header('connection', 'close')
      done(null, payload)
    })
    app.addHook('onClose', async () => {
      if (reaper) clearInterval(reaper)
    })
    app.addHook('onListen', async () => {
      const address = app.server.address()
      if (!cfg.PUBLIC_URL && address && typeof address === 'object') cfg.publicUrl = cfg.publicUrl.replace(/:\d+$/, `:${address.port}`)
    })
  },
  { name: 'config' },
)
