/**
 * API key management, mounted twice: client keys under `/api/client/account/api-keys` and an
 * administrator's application keys under `/api/application/api-keys`. The full key appears
 * only in the creation response.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { CLIENT_SECURITY, plainListSchema, withErrors, wrap } from '../../lib/envelope.js'
import type { KeyType } from '../auth/api-key.format.js'
import { ApiKeyAttributes, CreateApiKeyBody, CreatedApiKey, IdentifierParams, apiKeyAttributes } from './account.schemas.js'

export const apiKeysRoutes: FastifyPluginAsyncTypebox<{ keyType: KeyType; tag: string }> = async (app, { keyType, tag }) => {
  const tags = [tag]
  const security = CLIENT_SECURITY

  app.get('/', {
    schema: { summary: "List the caller's API keys of this family (secrets are never shown again)", tags, security, response: withErrors({ 200: plainListSchema('api_key', ApiKeyAttributes) }) },
    handler: async (request) => {
      const keys = await app.apiKeys.list(request.principal!.user.id, keyType)
      return { object: 'list' as const, data: keys.map((k) => wrap('api_key', apiKeyAttributes(k))) }
    },
  })

  app.post('/', {
    schema: { summary: 'Create an API key; the full key is returned once', tags, security, body: CreateApiKeyBody, response: withErrors({ 201: CreatedApiKey }) },
    handler: async (request, reply) => {
      const { view, key } = await app.apiKeys.create(request.principal!.user, keyType, {
        description: request.body.description,
        allowedIps: request.body.allowed_ips ?? [],
      })
      reply.code(201)
      return { ...wrap('api_key', apiKeyAttributes(view)), meta: { secret_token: key.slice(16), api_key: key } }
    },
  })

  app.delete('/:identifier', {
    schema: { summary: 'Revoke an API key (sockets opened with it close with 4010)', tags, security, params: IdentifierParams, response: withErrors({ 204: Type.Null() }) },
    handler: async (request, reply) => {
      await app.apiKeys.revoke(request.principal!.user, request.params.identifier)
      return reply.code(204).send(null)
    },
  })
}
