/**
 * PostgreSQL array literals (`{1,2,3}`, `{"a",NULL}`) built directly from column arrays, for the
 * statements that pass whole columns as one parameter each (the telemetry writer's `unnest`).
 * Both drivers pass a string parameter through as the value's text, so this replaces the
 * drivers' generic per-element conversion (a type check, two regular-expression replacements
 * and a concatenation for every element), which a profile of batched ingestion showed as a
 * tenth of the writer's CPU.
 */

/** `{…}` of finite numbers (what float8[] and int[] read back exactly: JS prints the shortest round-trip form). */
export function numberArrayLiteral(values: readonly number[]): string {
  return values.length === 0 ? '{}' : `{${values.join(',')}}`
}

const NEEDS_ESCAPE = /["\\]/
const ESCAPED = /["\\]/g

/** `{…}` of strings and nulls: every string quoted (so commas, braces, blanks and "NULL" stay text). */
export function textArrayLiteral(values: ReadonlyArray<string | null>): string {
  if (values.length === 0) return '{}'
  let out = '{'
  // Columns repeat the same few strings (metric names, units, a request's timestamp): quote once.
  let last: string | null | undefined
  let lastQuoted = ''
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as string | null
    if (v !== last) {
      last = v
      lastQuoted = v === null ? 'NULL' : `"${NEEDS_ESCAPE.test(v) ? v.replace(ESCAPED, '\\$&') : v}"`
    }
    out += i === 0 ? lastQuoted : `,${lastQuoted}`
  }
  return out + '}'
}
