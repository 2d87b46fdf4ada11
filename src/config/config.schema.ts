/**
 * Every configuration variable wirehub reads, with its default and a one-line meaning.
 * The same schema validates the environment, `.env` and the JSON config file, so there is one
 * place to look up a variable. `.env.example` mirrors this file.
 */
import Type, { type Static } from 'typebox'

const Bool = (def: boolean, description: string) => Type.Boolean({ default: def, description })
const Int = (def: number, min: number, max: number, description: string) =>
  Type.Integer({ default: def, minimum: min, maximum: max, description })

export const ConfigSchema = Type.Object({
  // --- network
  HOST: Type.String({ default: '127.0.0.1', minLength: 1, description: 'Interface to listen on' }),
  PORT: Int(3000, 0, 65535, 'HTTP and websocket port (0 picks a free one)'),
  PUBLIC_URL: Type.Optional(
    Type.String({ pattern: '^https?://[^\\s/]+(/.*)?$', description: 'External base URL; decides ws:// or wss:// in socket addresses. Default http://HOST:PORT' }),
  ),
  TRUST_PROXY: Bool(false, 'Trust X-Forwarded-* headers (behind a reverse proxy)'),
  BODY_LIMIT: Int(1_048_576, 1024, 104_857_600, 'Largest accepted HTTP body in bytes'),
  // --- storage
  DATA_DIR: Type.String({ default: './data', minLength: 1, description: 'Folder for the embedded database, secrets and server files' }),
  DATABASE_URL: Type.Optional(
    Type.String({ pattern: '^postgres(ql)?://', description: 'PostgreSQL URL; without it the embedded PGlite in DATA_DIR is used' }),
  ),
  DATABASE_POOL_SIZE: Int(10, 1, 500, 'Connections in the PostgreSQL pool'),
  AUTO_MIGRATE: Bool(true, 'Apply pending migrations at start-up'),
  // --- security
  SOCKET_TOKEN_SECRET: Type.Optional(
    Type.String({ minLength: 32, description: 'HS256 secret for socket tokens (>= 32 chars). Required with DATABASE_URL; generated into DATA_DIR otherwise' }),
  ),
  SOCKET_TOKEN_TTL: Int(600, 5, 86_400, 'Socket token lifetime in seconds'),
  SESSION_TTL: Int(604_800, 60, 31_536_000, 'Browser session lifetime in seconds'),
  COOKIE_SECURE: Type.Optional(Type.Boolean({ description: 'Mark cookies Secure. Default: true when PUBLIC_URL is https' })),
  RATE_LIMIT_MAX: Int(720, 1, 10_000_000, 'Requests per window per API key, session or (unauthenticated) IP'),
  RATE_LIMIT_WINDOW: Int(60, 1, 86_400, 'Rate-limit window in seconds'),
  LOGIN_MAX_FAILURES: Int(5, 1, 1000, 'Failed logins per account before it is locked out'),
  LOGIN_IP_MAX_FAILURES: Int(20, 1, 100_000, 'Failed logins per IP before it is locked out'),
  LOGIN_LOCKOUT: Int(900, 1, 86_400, 'Lockout window in seconds for failed logins'),
  // --- bootstrap administrator (first start only)
  ADMIN_EMAIL: Type.Optional(Type.String({ format: 'email', description: 'Email of the first administrator' })),
  ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 8, maxLength: 512, description: 'Password of the first administrator' })),
  ADMIN_API_KEY: Type.Optional(
    Type.String({ pattern: '^wha_[A-Za-z0-9]{12}[A-Za-z0-9]{32}$', description: 'Application key created with exactly this value (wha_ + 44 alphanumerics)' }),
  ),
  // --- operations
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'pino log level' },
  ),
  LOG_PRETTY: Type.Optional(Type.Boolean({ description: 'Human-readable logs. Default: when stdout is a terminal' })),
  SHUTDOWN_TIMEOUT: Int(10, 1, 600, 'Seconds to finish in-flight work on SIGTERM before exiting'),
})

export type Config = Static<typeof ConfigSchema> & {
  /** Resolved external base URL without a trailing slash. */
  publicUrl: string
  /** True when DATABASE_URL is unset and PGlite in DATA_DIR is used. */
  embedded: boolean
}
