/**
 * Loads configuration once at start-up: JSON config file (CONFIG_FILE or --config), then `.env`,
 * then the process environment, later sources overriding earlier ones. Validation collects every
 * bad variable so an operator fixes them in one pass instead of one restart per mistake.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parse as parseDotenv } from 'dotenv'
import { Value } from 'typebox/value'
import { ConfigSchema, type Config } from './config.schema.js'

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
  }
}

type RawSource = Record<string, unknown>

function readJsonFile(path: string, problems: string[]): RawSource {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'))
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
  const candidate = Value.Default(ConfigSchema, Value.Convert(ConfigSchema, merged))
  for (const err of Value.Errors(ConfigSchema, candidate)) {
    const name = err.instancePath.replace(/^\//, '') || String((err.params as { requiredProperties?: string[] }).requiredProperties ?? '')
    problems.push(`${name}: ${err.message} (got ${JSON.stringify(merged[name] ?? null)})`)
  }
  if (problems.length > 0) throw new ConfigError(problems)
  const cfg = candidate as Config
  if (cfg.DATABASE_URL && !cfg.SOCKET_TOKEN_SECRET) {
    problems.push('SOCKET_TOKEN_SECRET: required when DATABASE_URL is set (at least 32 characters)')
  }
  if (problems.length > 0) throw new ConfigError(problems)

  const host = cfg.HOST.includes(':') ? `[${cfg.HOST}]` : cfg.HOST
  cfg.publicUrl = (cfg.PUBLIC_URL ?? `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${cfg.PORT}`).replace(/\/+$/, '')
  cfg.embedded = !cfg.DATABASE_URL
  cfg.DATA_DIR = resolve(cwd, cfg.DATA_DIR)
  return cfg
}

/** The public websocket base (`ws://` or `wss://`) derived from the public URL. */
export function socketBaseUrl(cfg: Pick<Config, 'publicUrl'>): string {
  return cfg.publicUrl.replace(/^http/, 'ws')
}
