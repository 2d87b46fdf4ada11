/**
 * Request validation with two Ajv instances: query strings, params and headers are text, so they
 * are coerced ("5" → 5); JSON bodies are already typed, so they are validated as sent. Coercing
 * bodies would turn `null` into 0 and "23.5" into 23.5 — silent data changes, not validation.
 * Every validator also applies the checks no schema expresses (lib/input-limits.ts) first.
 */
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchema, FastifySchemaCompiler } from 'fastify'
import { findInputProblem } from '../../lib/input-limits.js'
import { collapseConstUnions } from '../../lib/schema-enums.js'

// verbose: errors carry their schema, so a pattern failure can be explained by the field's
// description instead of showing the regular expression (see error-messages.ts).
const base: Options = { removeAdditional: false, useDefaults: true, allErrors: true, strict: false, verbose: true }

function make(coerce: Options['coerceTypes']): Ajv {
  const ajv = new Ajv({ ...base, coerceTypes: coerce })
  addFormats.default(ajv)
  return ajv
}

const forText = make('array')
const forBody = make(false)

// Compiled validators by route schema object, per Ajv instance. Route schemas are module
// constants, so every app built in one process (the test suite builds several per file, and a
// cluster test several at once) reuses the validators compiled for the first instead of
// compiling ~100 routes' schemas again. The validators hold no per-app state.
const compiled = { body: new WeakMap<object, ValidateFunction>(), text: new WeakMap<object, ValidateFunction>() }

export const validatorCompiler: FastifySchemaCompiler<FastifySchema> = ({ schema, httpPart }) => {
  const isBody = httpPart === 'body'
  const cache = isBody ? compiled.body : compiled.text
  let validate = cache.get(schema)
  if (!validate) {
    validate = withInputLimits((isBody ? forBody : forText).compile(collapseConstUnions(schema) as object))
    cache.set(schema, validate)
  }
  return validate
}

/**
 * Runs the NUL/depth checks before the schema's validator and reports a failure in Ajv's own
 * error shape, so the one error handler names the field as it does for any schema error.
 */
function withInputLimits(validate: ValidateFunction): ValidateFunction {
  const guarded = function (this: unknown, data: unknown, ctx?: unknown) {
    const problem = findInputProblem(data)
    if (problem) {
      const error: ErrorObject = { instancePath: problem.path, schemaPath: '#', keyword: problem.rule, params: {}, message: problem.message }
      guarded.errors = [error]
      return false
    }
    // Ajv's second argument (the parent, for root coercion) is passed through untouched.
    const ok = (validate as (this: unknown, d: unknown, c?: unknown) => boolean).call(this, data, ctx)
    guarded.errors = validate.errors
    return ok
  } as ValidateFunction
  // Fastify hands root-mutating validators their parent only when `schemaEnv` is present.
  Object.assign(guarded, { schema: validate.schema, schemaEnv: validate.schemaEnv })
  return guarded
}
