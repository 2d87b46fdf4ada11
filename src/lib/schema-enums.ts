/**
 * TypeBox writes a union of literals (`Type.Union([Type.Literal('start'), …])`) as
 * `anyOf: [{const:'start'}, …]`. Validated as written, a bad value yields one "must be equal to
 * constant" per branch plus "must match a schema in anyOf", and never the allowed values; in
 * OpenAPI it shows as a list of one-value schemas. `collapseConstUnions` rewrites every such
 * union into the equivalent `enum` (a deep copy; the route's own schema object is not changed),
 * so Ajv reports one `enum` error carrying the allowed values and /docs lists them.
 */
type Json = unknown

function constUnion(node: Record<string, Json>): { values: Json[]; type?: string } | null {
  const branches = node.anyOf
  if (!Array.isArray(branches) || branches.length === 0) return null
  const values: Json[] = []
  const types = new Set<string>()
  for (const b of branches) {
    if (b === null || typeof b !== 'object') return null
    // `const`, or the one-value `enum` @fastify/swagger writes for it in OpenAPI.
    const { const: constant, enum: single, type, ...rest } = b as Record<string, Json>
    if (!('const' in b) && !(Array.isArray(single) && single.length === 1)) return null
    const value = 'const' in b ? constant : (single as Json[])[0]
    // Branches carrying more than a value and its type are not plain literals.
    if (Object.keys(rest).some((k) => k !== 'description' && k !== 'title')) return null
    values.push(value)
    if (typeof type === 'string') types.add(type)
  }
  return types.size === 1 ? { values, type: [...types][0]! } : { values }
}

export function collapseConstUnions<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map((s) => collapseConstUnions(s)) as T
  if (schema === null || typeof schema !== 'object') return schema
  const node = schema as Record<string, Json>
  const union = constUnion(node)
  if (union) {
    const { anyOf: _anyOf, ...rest } = node
    return { ...rest, ...(union.type ? { type: union.type } : {}), enum: union.values } as T
  }
  const out: Record<string, Json> = {}
  for (const [k, v] of Object.entries(node)) out[k] = collapseConstUnions(v)
  return out as T
}
