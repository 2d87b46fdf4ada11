/**
 * Request validation with two Ajv instances: query strings, params and headers are text, so they
 * are coerced ("5" → 5); JSON bodies are already typed, so they are validated as sent. Coercing
 * bodies would turn `null` into 0 and "23.5" into 23.5 — silent data changes, not validation.
 */
import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchema, FastifySchemaCompiler } from 'fastify'

const base: Options = { removeAdditional: false, useDefaults: true, allErrors: true, strict: false }

function make(coerce: Options['coerceTypes']): Ajv {
  const ajv = new Ajv({ ...base, coerceTypes: coerce })
  addFormats.default(ajv)
  return ajv
}

const forText = make('array')
const forBody = make(false)

export const validatorCompiler: FastifySchemaCompiler<FastifySchema> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? forBody : forText).compile(schema as object)
