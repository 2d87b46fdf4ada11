/**
 * Validation errors a user can act on: a value outside a set of literals is one error listing
 * the allowed values (not one "must be equal to constant" per value plus "must match a schema in
 * anyOf"), a value failing a pattern is explained by the field's description, never the regular
 * expression, and /docs shows such fields as enums.
 */
import t from 'tap'
import { bearer, build } from '../helper.js'
import { userWithKey } from '../sdk/support.js'

interface ErrorBody {
  errors: Array<{ detail: string; meta?: { source_field?: string; rule?: string; allowed?: unknown[] } }>
}

t.test('validation messages', async (t) => {
  const { app, adminKey } = await build(t)
  const { key } = await userWithKey(app, adminKey, 'messages@example.test')

  const power = await app.inject({ method: 'POST', url: '/api/client/servers/1a2b3c4d/power', headers: bearer(key), payload: { signal: 'explode' } })
  t.equal(power.statusCode, 422)
  const body = power.json<ErrorBody>()
  t.equal(body.errors.length, 1, `one error, not one per literal: ${JSON.stringify(body.errors.map((e) => e.detail))}`)
  t.equal(body.errors[0]?.detail, 'signal: must be one of: start, stop, restart, kill')
  t.same(body.errors[0]?.meta, { source_field: 'signal', rule: 'enum', allowed: ['start', 'stop', 'restart', 'kill'] })

  const badId = await app.inject({ method: 'GET', url: '/api/client/servers/not!an!id', headers: bearer(key) })
  t.equal(badId.statusCode, 422)
  const detail = badId.json<ErrorBody>().errors[0]?.detail ?? ''
  t.equal(detail, 'params.server: is not valid: expected server uuid or 8-character identifier')
  t.notMatch(detail, /[\^$\\[\]]/, 'no regular expression in the message')

  const doc = (await app.inject({ url: '/docs/json' })).json<{ paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } }>> }>()
  const signal = doc.paths['/api/client/servers/{server}/power']?.post?.requestBody?.content['application/json']?.schema.properties.signal
  t.same(signal, { type: 'string', enum: ['start', 'stop', 'restart', 'kill'] }, 'OpenAPI shows the enum')
})
