/**
 * The JSON body parser: Fastify's own (prototype-poisoning checks included), except that an
 * empty body is no body. Pterodactyl client libraries (nodeactyl among them) send
 * `Content-Type: application/json` with no body on DELETE and POST actions that take none, and
 * Pterodactyl accepts them. A route that takes a body still answers an empty one with Fastify's
 * 400 (FST_ERR_CTP_EMPTY_JSON_BODY), as before.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'

export default fp(
  async function jsonBodyPlugin(app) {
    const parse = app.getDefaultJsonParser('error', 'error')
    app.removeContentTypeParser('application/json')
    app.addContentTypeParser('application/json', { parseAs: 'string' }, function (this: FastifyInstance, request, body, done) {
      if (body.length === 0 && request.routeOptions.schema?.body === undefined) return done(null, undefined)
      parse.call(this, request, body as string, done)
    })
  },
  { name: 'json-body' },
)
