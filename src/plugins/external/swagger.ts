/**
 * OpenAPI 3 generated from the route schemas (@fastify/swagger), served at /docs/json, with the
 * Swagger UI at /docs. Registered before any route so every route is collected.
 */
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { collapseConstUnions } from '../../lib/schema-enums.js'

interface ResponseSchema {
  properties?: Record<string, { const?: unknown; enum?: unknown[]; items?: ResponseSchema }>
}
interface ResponseObject {
  description?: string
  content?: Record<string, { schema?: ResponseSchema }>
}
interface Operation {
  parameters?: Array<{ in?: string; required?: boolean; schema?: { default?: unknown } }>
  responses?: Record<string, ResponseObject>
}

const BY_STATUS: Record<string, string> = {
  '4XX': 'Refused: the body names the problem (error code, detail, source field) and the request id',
  '5XX': 'Server error, or a dependency outage (503 with Retry-After); the body names the request id',
  '204': 'Done; no body',
  '503': 'Not ready: a dependency does not answer',
}

/** `{object:"server"}` → "a server object"; `{object:"list", data:[{object:"server"}]}` → "a list of server objects". */
function describeBody(schema: ResponseSchema | undefined): string | undefined {
  const kind = (s: ResponseSchema | undefined) => {
    const p = s?.properties?.object
    return (p?.const ?? p?.enum?.[0]) as string | undefined
  }
  const object = kind(schema)
  if (object === 'list') {
    const item = kind(schema?.properties?.data?.items)
    return item ? `a list of ${item} objects` : 'a list'
  }
  return object ? `${/^[aeiou]/.test(object) ? 'an' : 'a'} ${object} object` : undefined
}

/**
 * Corrections to what @fastify/swagger derives (besides unions of literals, which
 * collapseConstUnions turns into enums) from the route schemas: a response without
 * its own description is labelled "Default Response" (filled here from the status and the body's
 * Pterodactyl envelope), and a query parameter with a default is listed as required because
 * TypeBox marks it so for the validator (which fills the default), though a client may omit it.
 */
export function polishOperations(doc: { paths?: Record<string, Record<string, Operation>> }) {
  for (const item of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(item)) {
      for (const param of op.parameters ?? []) {
        if (param.in === 'query' && param.schema?.default !== undefined) param.required = false
      }
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        if (response.description && response.description !== 'Default Response') continue
        const body = describeBody(response.content?.['application/json']?.schema)
        response.description = BY_STATUS[status] ?? (status.startsWith('2') ? `Success${body ? `: ${body}` : ''}` : `HTTP ${status}`)
      }
    }
  }
  return doc
}

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
      transformObject: (documentObject) => {
        const doc = collapseConstUnions('openapiObject' in documentObject ? documentObject.openapiObject : documentObject.swaggerObject)
        polishOperations(doc as Parameters<typeof polishOperations>[0])
        return doc
      },
    })
    await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
  },
  { name: 'swagger' },
)
