/**
 * Loads configuration once at start-up: JSON config file (CONFIG_FILE or --config; comments and
 * trailing commas allowed), then `.env`, then the process environment, later sources overriding
 * earlier ones. Validation collects every
 * bad variable so an operator fixes them in one pass instead of one restart per mistake.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parse as parseDotenv } from 'dotenv'
import stripJsonComments from 'strip-json-comments'
import { Value } from 'typebox/value'
import { patternProblems } from '../lib/origin-policy.js'
import { parseAllowList } from '../lib/ip-allow-list.js'
import { ConfigSchema, type Config } from './config.schema.js'

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
  }
}

type RawSource = Record<string, unknown>

/**
 * The config file is JSON with comments (line and block) and trailing commas allowed: hand-written
 * config files, the seed's example included, often carry them, and refusing the file over it
 * helps nobody. Comments become spaces, so JSON.parse's error positions stay right.
 */
export function parseConfigText(text: string): unknown {
  return JSON.parse(stripJsonComments(text, { trailingCommas: true }))
}

function readJsonFile(path: string, problems: string[]): RawSource {
  try {
    const parsed = parseConfigText(readFileSync(path, 'utf8'))
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      problems.push(`CONFIG_FILE: ${path} must contain a JSON object`)
      return {}
    }
    return parsed as RawSource
  } catch (err) {
    problems.push(`CONFIG_FILE: cannot read ${path}: ${(err as Error).message}`)
    return {}
  }
}

/**
 * The seed's config.json shape: `websocket.port` and `websocket.approvedSocketDomains` map to
 * USER_EVENTS_PORT and APPROVED_SOCKET_DOMAINS; any other top-level key is a variable name.
 */
function fromConfigFile(file: RawSource): RawSource {
  const out: RawSource = { ...file }
  const ws = file.websocket
  if (ws && typeof ws === 'object' && !Array.isArray(ws)) {
    const w = ws as Record<string, unknown>
    if (w.port !== undefined) out.USER_EVENTS_PORT = w.port
    if (w.approvedSocketDomains !== undefined) out.APPROVED_SOCKET_DOMAINS = w.approvedSocketDomains
  }
  delete out.websocket
  return out
}

/** Environment values are strings; a JSON array variable is given as JSON text. */
function parseJsonArrays(src: RawSource): RawSource {
  const v = src.APPROVED_SOCKET_DOMAINS
  if (typeof v !== 'string') return src
  try {
    return { ...src, APPROVED_SOCKET_DOMAINS: JSON.parse(v) as unknown }
  } catch {
    return src // left as a string: validation reports it as "must be array"
  }
}

function readDotenv(cwd: string): RawSource {
  try {
    return parseDotenv(readFileSync(resolve(cwd, '.env')))
  } catch {
    return {}
  }
}

/** Returns the path given by `--config <file>` / `--config=<file>`, if any. */
export function configFileFromArgv(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--config') return argv[i + 1]
    if (arg?.startsWith('--config=')) return arg.slice('--config='.length)
  }
  return undefined
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv | RawSource
  argv?: readonly string[]
  cwd?: string
  /** Skip reading `.env` (tests build configs from explicit values). */
  dotenv?: boolean
}

/** Empty strings mean "unset", as they do in most compose files and shells. */
function withoutEmpty(src: RawSource): RawSource {
  const out: RawSource = {}
  for (const [k, v] of Object.entries(src)) if (v !== '' && v !== undefined) out[k] = v
  return out
}

/** Variables whose values are secrets: a config error names them but never echoes them. */
const SECRET_VARIABLES = new Set(['ADMIN_API_KEY', 'ADMIN_PASSWORD', 'SOCKET_TOKEN_SECRET'])

/** A bad value as shown in a config error: secrets redacted, URL passwords masked. */
function shownValue(name: string, value: unknown): string {
  if (value === undefined || value === null) return 'null'
  if (SECRET_VARIABLES.has(name)) return `[redacted, ${String(value).length} characters]`
  if (name.endsWith('_URL') && typeof value === 'string') return JSON.stringify(value.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@'))
  return JSON.stringify(value)
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env
  const cwd = opts.cwd ?? process.cwd()
  const problems: string[] = []
  const configFile = configFileFromArgv(opts.argv ?? []) ?? (env.CONFIG_FILE as string | undefined)
  const fromFile = configFile ? fromConfigFile(readJsonFile(resolve(cwd, configFile), problems)) : {}
  const fromDotenv = opts.dotenv === false ? {} : readDotenv(cwd)

  const known = Object.keys(ConfigSchema.properties)
  const merged: RawSource = {}
  for (const src of [withoutEmpty(fromFile), parseJsonArrays(withoutEmpty(fromDotenv)), parseJsonArrays(withoutEmpty(env as RawSource))]) {
    for (const key of known) if (key in src) merged[key] = src[key]
  }
  // Convert would turn any string into a one-element array: a list that is not JSON is a mistake.
  const domainList = merged.APPROVED_SOCKET_DOMAINS
  if (domainList !== undefined && !Array.isArray(domainList)) {
    problems.push(`APPROVED_SOCKET_DOMAINS: must be a JSON array of regular expressions, e.g. ["^example\\\\.com$"] (got ${JSON.stringify(domainList)})`)
    delete merged.APPROVED_SOCKET_DOMAINS
  }
  const candidate = Value.Default(ConfigSchema, Value.Convert(ConfigSchema, merged))
  for (const err of Value.Errors(ConfigSchema, candidate)) {
    const name = err.instancePath.replace(/^\//, '') || String((err.params as { requiredProperties?: string[] }).requiredProperties ?? '')
    const line = `${name}: ${err.message} (got ${shownValue(name, merged[name])})`
    if (!problems.includes(line)) problems.push(line) // a union reports once per member
  }
  // Regexes are compiled here too, so an invalid one is reported with every other bad variable.
  const domains = (candidate as { APPROVED_SOCKET_DOMAINS?: unknown }).APPROVED_SOCKET_DOMAINS
  if (Array.isArray(domains)) {
    for (const p of patternProblems(domains.filter((d): d is string => typeof d === 'string'))) problems.push(`APPROVED_SOCKET_DOMAINS: ${p}`)
  }
  if (problems.length > 0) throw new ConfigError(problems)
  const cfg = candidate as Config
  if (cfg.DATABASE_URL && !cfg.SOCKET_TOKEN_SECRET) {
    problems.push('SOCKET_TOKEN_SECRET: required when DATABASE_URL is set (at least 32 characters)')
  }
  cfg.trustProxy = parseTrustProxy(cfg.TRUST_PROXY, problems)
  if (problems.length > 0) throw new ConfigError(problems)

  const host = cfg.HOST.includes(':') ? `[${cfg.HOST}]` : cfg.HOST
  cfg.publicUrl = (cfg.PUBLIC_URL ?? `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${cfg.PORT}`).replace(/\/+$/, '')
  cfg.embedded = !cfg.DATABASE_URL
  cfg.DATA_DIR = resolve(cwd, cfg.DATA_DIR)
  return cfg
}

/**
 * TRUST_PROXY as Fastify's `trustProxy`: a hop count or a list of trusted proxy addresses makes
 * the client address the rightmost X-Forwarded-For entry not added by a trusted hop, so a
 * client cannot choose its own address by sending the header itself.
 */
function parseTrustProxy(value: string, problems: string[]): Config['trustProxy'] {
  if (value === 'false') return false
  if (value === 'true') return true
  if (/^\d+$/.test(value)) {
    // A hop count trusts whoever is that many hops in, so it is only safe when nothing reaches
    // wirehub except through the proxies (Fastify refuses a bare number for that reason).
    const hops = Number(value)
    return hops === 0 ? false : (_addr: string, hop: number) => hop < hops
  }
  const entries = value.split(',').map((e) => e.trim())
  const { invalid } = parseAllowList(entries)
  if (invalid.length > 0) problems.push(`TRUST_PROXY: not an IP address or CIDR range: ${invalid.join(', ')}`)
  return entries
}

/** The public websocket base (`ws://` or `wss://`) derived from the public URL. */
export function socketBaseUrl(cfg: Pick<Config, 'publicUrl'>): string {
  return cfg.publicUrl.replace(/^http/, 'ws')
}
