/** Placeholder: the servers module is being built (see its issue). */
import fp from 'fastify-plugin'

export default fp(async function serversModule() {}, { name: 'servers', dependencies: ['auth', 'realtime'] })
