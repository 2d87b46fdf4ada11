/**
 * The Origin check made before a console or channel socket is upgraded. Entries are exact
 * origins (`https://panel.example.com`), `*`, or anchored regular expressions (`^https://.*\.example\.com$`).
 * The public URL's own origin is always allowed. A missing Origin (non-browser clients) is
 * accepted only when configured, by default only when the list contains `*`.
 */
export interface OriginPolicy {
  allows(origin: string | undefined): boolean
}

export class OriginPatternError extends Error {}

function normalize(origin: string): string | null {
  try {
    const u = new URL(origin)
    return `${u.protocol}//${u.host}`.toLowerCase()
  } catch {
    return null
  }
}

export function compileOriginPolicy(opts: { entries: string; allowMissing?: boolean | undefined; selfOrigin: () => string }): OriginPolicy {
  const list = opts.entries
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
  const any = list.includes('*')
  const exact = new Set<string>()
  const patterns: RegExp[] = []
  for (const entry of list) {
    if (entry === '*') continue
    if (entry.startsWith('^')) {
      if (!entry.endsWith('$')) throw new OriginPatternError(`ALLOWED_ORIGINS: pattern ${entry} must be anchored with ^ and $`)
      try {
        patterns.push(new RegExp(entry, 'i'))
      } catch (err) {
        throw new OriginPatternError(`ALLOWED_ORIGINS: invalid regular expression ${entry}: ${(err as Error).message}`)
      }
      continue
    }
    const n = normalize(entry)
    if (!n) throw new OriginPatternError(`ALLOWED_ORIGINS: ${entry} is not an origin (scheme://host[:port]), '*' or ^regex$`)
    exact.add(n)
  }
  const allowMissing = opts.allowMissing ?? any
  return {
    allows(origin) {
      if (origin === undefined || origin === '') return allowMissing
      if (any) return true
      // Read per check: the public URL is only final once the server has bound its port.
      if (normalize(origin) === normalize(opts.selfOrigin())) return true
      if (exact.has(origin.toLowerCase()) || exact.has(normalize(origin) ?? '')) return true
      return patterns.some((p) => p.test(origin))
    },
  }
}
