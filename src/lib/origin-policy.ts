/**
 * Every Origin policy of wirehub's sockets, in one module (pure, no Fastify import):
 *
 *   - ALLOWED_ORIGINS (console and channel sockets): `compileOriginPolicy` below;
 *   - APPROVED_SOCKET_DOMAINS (user events, the seed's format): `compileDomains` further down.
 *
 * Both give an `OriginPolicy`, which the socket core's pre-upgrade guard applies.
 *
 * ALLOWED_ORIGINS: entries are exact
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

// ---------------------------------------------------------------- APPROVED_SOCKET_DOMAINS

/**
 * The Origin allow-list of the user events socket (`approvedSocketDomains` in the original configuration): regular
 * expressions compiled once at start-up and tested against the forms of the request's Origin
 * that the seed's examples use:
 *
 *   - the host                       `example.com`            (pattern `^example\.com$`)
 *   - host:port                      `webinate.net:80`        (pattern `^webinate\.net:80$`)
 *   - the full origin                `ws://www.webinate.net:123`
 *
 * Any pattern matching any form allows the connection. When the Origin has no port, host:port
 * uses the scheme's default (80 for http/ws, 443 for https/wss). Hosts are case-insensitive, so
 * every form is lower-cased and patterns are compiled with the `i` flag. An Origin that is not a
 * bare `scheme://host[:port]` or `host[:port]` (paths, user info, `null`, spaces) matches nothing.
 *
 * Patterns should be anchored (`^…$`): `example.com` also matches `example.com.evil.net`, and
 * `^example\.org` matches `example.org.evil.net`. Unanchored patterns are accepted, for
 * compatibility with the seed's lists, but reported as warnings to log at start-up.
 */

/** Flags every pattern is compiled with (the config validation uses the same). */
export const PATTERN_FLAGS = 'i'

export class DomainPatternError extends Error {
  constructor(readonly problems: string[]) {
    super(`APPROVED_SOCKET_DOMAINS: ${problems.join('; ')}`)
    this.name = 'DomainPatternError'
  }
}

export interface CompiledDomains {
  readonly patterns: readonly RegExp[]
  /** One line per unanchored pattern, to log at start-up. */
  readonly warnings: readonly string[]
  /** True when the Origin (raw header value) matches at least one pattern. */
  allows(origin: string | undefined): boolean
}

/** Problems with the list, one per invalid pattern, naming it; empty when every pattern compiles. */
export function patternProblems(list: readonly string[]): string[] {
  const problems: string[] = []
  for (const source of list) {
    try {
      new RegExp(source, PATTERN_FLAGS)
    } catch (err) {
      problems.push(`invalid regular expression ${JSON.stringify(source)}: ${(err as Error).message}`)
    }
  }
  return problems
}

/** Why a pattern is risky, or null when it is anchored at both ends. */
export function anchoringWarning(source: string): string | null {
  const start = source.startsWith('^')
  // `\$` at the end is a literal dollar, not an anchor.
  const end = source.endsWith('$') && !source.endsWith('\\$')
  if (start && end) return null
  const missing = !start && !end ? 'is not anchored (^…$)' : !start ? 'has no ^ anchor' : 'has no $ anchor'
  return `approved socket domain ${JSON.stringify(source)} ${missing}: it also matches origins that merely contain a match (e.g. example.com.evil.net)`
}

const DEFAULT_PORTS: Record<string, string> = { http: '80', ws: '80', https: '443', wss: '443' }
const SCHEME_FORM = /^([a-z][a-z0-9+.-]*):\/\//i
/** A bare `host[:port]` as the seed's example client sends (`origin: "trusted-host"`). */
const HOST_FORM = /^([a-z0-9._~-]+)(?::(\d{1,5}))?$/i

/**
 * The lower-cased forms of an Origin tested against the patterns: host, host:port, and the full
 * origin (with and without the default port). Null when the value is missing or not a bare origin.
 */
export function originForms(origin: string | undefined): string[] | null {
  if (origin === undefined) return null
  const raw = origin.trim()
  if (raw === '' || raw.toLowerCase() === 'null' || raw.length > 1000) return null
  const scheme = SCHEME_FORM.exec(raw)?.[1]?.toLowerCase()
  if (scheme === undefined) {
    const m = HOST_FORM.exec(raw)
    if (!m) return null
    const host = m[1]!.toLowerCase()
    return m[2] === undefined ? [host] : [host, `${host}:${Number(m[2])}`]
  }
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return null
  }
  // An Origin header carries no user info, path, query or fragment: refuse rather than guess.
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '' && url.pathname !== '/')) return null
  if (!url.hostname) return null
  const host = url.hostname.toLowerCase()
  const port = url.port || DEFAULT_PORTS[scheme]
  const forms = [host]
  if (port !== undefined) forms.push(`${host}:${port}`)
  if (!url.port) forms.push(`${scheme}://${host}`)
  if (port !== undefined) forms.push(`${scheme}://${host}:${port}`)
  return forms
}

/** Compiles the list once; throws DomainPatternError naming every invalid pattern. */
export function compileDomains(list: readonly string[]): CompiledDomains {
  const problems = patternProblems(list)
  if (problems.length > 0) throw new DomainPatternError(problems)
  const patterns = list.map((source) => new RegExp(source, PATTERN_FLAGS))
  const warnings = list.map(anchoringWarning).filter((w): w is string => w !== null)
  return {
    patterns,
    warnings,
    allows(origin) {
      if (patterns.length === 0) return false // the safe default: an empty list refuses everyone
      const forms = originForms(origin)
      if (!forms) return false
      // Patterns have no `g`/`y` flag, so `test` keeps no state between calls.
      return patterns.some((p) => forms.some((f) => p.test(f)))
    },
  }
}
