/**
 * The one error handler: every failure leaves as Pterodactyl's error envelope
 * `{"errors":[{code,status,detail,meta?}],"request_id"}`. Validation failures name the field;
 * 5xx bodies say nothing internal (the log has the details); unknown routes get the same shape.
 */
import fp from 'fastify-plugin'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { FieldError, pterodactylCode } from '../../lib/errors.js'
import { classifyOutage, type DependencyOutage } from '../../lib/dependency-errors.js'
import { explainValidationError } from '../../lib/validation-messages.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** When a request last failed because the database's storage was full (ms epoch, 0: never); /ready reports it. */
    storageFullAt: number
  }
}

/** An outage's answer: status, Retry-After seconds and what to tell the client. */
const OUTAGE_ANSWERS: Record<DependencyOutage, { status: number; retryAfter: number; detail: string }> = {
  database_unavailable: { status: 503, retryAfter: 5, detail: 'The database is unavailable; retry shortly.' },
  storage_full: { status: 507, retryAfter: 60, detail: 'The database storage is full; nothing was written.' },
}

interface ErrorItem {
  code: string
  status: string
  detail: string
  meta?: Record<string, unknown>
}

function send(reply: FastifyReply, request: FastifyRequest, status: number, errors: ErrorItem[]) {
  return reply.code(status).type('application/json; charset=utf-8').send({ errors, request_id: request.id })
}

/** `/body/email` or `body must have required property 'email'` → `email`. */
function fieldOf(v: { instancePath?: string; params?: Record<string, unknown> }): string {
  const path = (v.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.')
  const missing = v.params?.missingProperty ?? (v.params?.requiredProperties as string[] | undefined)?.[0]
  const extra = v.params?.additionalProperty
  const leaf = typeof missing === 'string' ? missing : typeof extra === 'string' ? extra : ''
  return [path, leaf].filter(Boolean).join('.') || 'body'
}

export default fp(
  async function errorHandlerPlugin(app) {
    app.setErrorHandler(function (err: FastifyError & { retryAfterSec?: number }, request, reply) {
      if (err instanceof FieldError) {
        return send(reply, request, 422, [
          { code: 'ValidationException', status: '422', detail: `${err.field}: ${err.message}`, meta: { source_field: err.field, rule: err.rule } },
        ])
      }
      if (err.validation) {
        const status = (request.routeOptions.config as { validationStatus?: number } | undefined)?.validationStatus ?? 422
        const where = err.validationContext ?? 'body'
        const seen = new Set<string>()
        const errors = err.validation.slice(0, 20).flatMap((v) => {
          const field = fieldOf(v as { instancePath?: string; params?: Record<string, unknown> })
          const { message, allowed } = explainValidationError(v)
          const detail = `${where === 'body' ? '' : `${where}.`}${field}: ${message}`
          // Branches of a union can fail the same way; one line each is enough.
          if (seen.has(detail)) return []
          seen.add(detail)
          return [{ code: 'ValidationException', status: String(status), detail, meta: { source_field: field, rule: v.keyword, ...(allowed ? { allowed } : {}) } }]
        })
        return send(reply, request, status, errors)
      }
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
      const outage = status >= 500 ? classifyOutage(err) : null
      if (outage) return sendOutage(request, reply, outage, err)
      if (status >= 500) {
        request.log.error({ err }, 'request failed')
        return send(reply, request, status, [
          { code: pterodactylCode(status), status: String(status), detail: status === 500 ? 'An unexpected error was encountered while processing this request, please try again.' : err.message },
        ])
      }
      if (err.retryAfterSec) reply.header('retry-after', String(err.retryAfterSec))
      return send(reply, request, status, [{ code: pterodactylCode(status), status: String(status), detail: err.message }])
    })

    app.decorate('storageFullAt', 0)

    /** A dependency outage: 503 (507 for full storage) with Retry-After and a code naming it. */
    function sendOutage(request: FastifyRequest, reply: FastifyReply, outage: DependencyOutage, err: Error) {
      const answer = OUTAGE_ANSWERS[outage]
      if (outage === 'storage_full') app.storageFullAt = Date.now()
      request.log.warn({ err: { message: err.message, code: (err as { code?: unknown }).code }, outage }, 'request failed: dependency outage')
      reply.header('retry-after', String(answer.retryAfter))
      return send(reply, request, answer.status, [
        { code: pterodactylCode(answer.status), status: String(answer.status), detail: answer.detail, meta: { reason: outage } },
      ])
    }

    app.setNotFoundHandler(function (request, reply) {
      return send(reply, request, 404, [
        { code: 'NotFoundHttpException', status: '404', detail: `Route ${request.method} ${request.url.split('?')[0]} not found.` },
      ])
    })
  },
  { name: 'error-handler' },
)
