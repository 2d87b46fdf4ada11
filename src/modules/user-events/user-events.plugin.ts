/** Placeholder: the user-events module is being built (see its issue). */
import fp from 'fastify-plugin'

export default fp(async function userEventsModule() {}, { name: 'user-events', dependencies: ['auth', 'realtime'] })
