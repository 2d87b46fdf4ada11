/**
 * What a failed schema check tells the client, from Ajv's error: the allowed values for an enum
 * (listed, instead of "must be equal to one of the allowed values"), the expected value for a
 * constant, and for a pattern the field's description instead of the regular expression (a
 * regex is not something a user can act on).
 */
import type { ErrorObject } from 'ajv'

const MAX_LISTED = 20

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1)
}

export interface ExplainedError {
  message: string
  /** The allowed values, for enum and const failures. */
  allowed?: unknown[]
}

export function explainValidationError(v: Pick<ErrorObject, 'keyword' | 'params' | 'message'> & { parentSchema?: unknown }): ExplainedError {
  const params = (v.params ?? {}) as Record<string, unknown>
  switch (v.keyword) {
    case 'enum': {
      const allowed = Array.isArray(params.allowedValues) ? params.allowedValues : []
      const listed = allowed.slice(0, MAX_LISTED).map(show).join(', ') + (allowed.length > MAX_LISTED ? ', …' : '')
      return { message: `must be one of: ${listed}`, allowed }
    }
    case 'const':
      return { message: `must be ${show(params.allowedValue)}`, allowed: [params.allowedValue] }
    case 'pattern': {
      const description = (v.parentSchema as { description?: unknown } | undefined)?.description
      return { message: typeof description === 'string' && description ? `is not valid: expected ${lowerFirst(description)}` : 'is not in the expected format' }
    }
    default:
      return { message: v.message ?? 'is invalid' }
  }
}
