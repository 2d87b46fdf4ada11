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
    app.decorate('config', opts.config)
    app.decorate('events', new DomainEvents())
  },
  { name: 'config' },
)
