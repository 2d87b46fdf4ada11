/** Placeholder: the channels module is being built (see its issue). */
import fp from 'fastify-plugin'

export default fp(async function channelsModule() {}, { name: 'channels', dependencies: ['auth', 'realtime'] })
