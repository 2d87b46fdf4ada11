/**
 * OpenAPI 3 generated from the route schemas (@fastify/swagger), served at /docs/json, with the
 * Swagger UI at /docs. Registered before any route so every route is collected.
 */
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'

export default fp(
  async function swaggerPlugin(app) {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'wirehub',
          description:
            'Self-hosted real-time gateway. Client API (`/api/client`, client keys `whc_…` or the browser session) and Application API (`/api/application`, application keys `wha_…`) follow Pterodactyl\'s conventions.',
          version: '0.1.0',
        },
        components: {
          securitySchemes: {
            bearer: { type: 'http', scheme: 'bearer', description: 'API key: whc_… (client) or wha_… (application)' },
            session: { type: 'apiKey', in: 'cookie', name: 'wirehub_session' },
          },
        },
      },
    })
    await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
  },
  { name: 'swagger' },
)
