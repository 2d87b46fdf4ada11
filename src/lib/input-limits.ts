/**
 * Checks every request value must pass before any route sees it, whatever its schema says:
 * PostgreSQL refuses NUL characters in text and JSON (a 500 from deep inside a query otherwise),
 * and values nested thousands deep overflow the stack of recursive code further down (Prisma's
 * JSON serialisation among it). Pure; the walk is iterative so the check itself cannot overflow.
 */

/** Deepest nesting of objects and arrays accepted in a request value. */
export const MAX_INPUT_DEPTH = 32

export interface InputProblem {
  /** JSON-pointer-like path of the offending value (`/metadata/a`), '' for the root. */
  path: string
  rule: 'nul' | 'depth'
  message: string
}

const NUL = '\u0000'

/** The first NUL character or over-deep value in `value`, or null when there is none. */
export function findInputProblem(value: unknown, maxDepth = MAX_INPUT_DEPTH): InputProblem | null {
  if (typeof value === 'string') return value.includes(NUL) ? nul('') : null
  if (value === null || typeof value !== 'object') return null
  const stack: Array<{ v: object; path: string; depth: number }> = [{ v: value, path: '', depth: 1 }]
  while (stack.length > 0) {
    const { v, path, depth } = stack.pop()!
    if (depth > maxDepth) return { path, rule: 'depth', message: `must not be nested more than ${maxDepth} levels deep` }
    const entries: Array<[string, unknown]> = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v)
    for (const [k, x] of entries) {
      const at = `${path}/${escape(k)}`
      if (k.includes(NUL)) return nul(path, 'must not contain a property name with a NUL character (\\u0000)')
      if (typeof x === 'string') {
        if (x.includes(NUL)) return nul(at)
      } else if (x !== null && typeof x === 'object') {
        stack.push({ v: x, path: at, depth: depth + 1 })
      }
    }
  }
  return null
}

function nul(path: string, message = 'must not contain a NUL character (\\u0000)'): InputProblem {
  return { path, rule: 'nul', message }
}

/** JSON pointer escaping of one path segment (RFC 6901). */
function escape(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1')
}
