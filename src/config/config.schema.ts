/**
 * Every configuration variable wirehub reads, with its default and a one-line meaning.
 * The same schema validates the environment, `.env` and the JSON config file, so there is one
 * place to look up a variable. `.env.example` mirrors this file.
 */
import Type, { type Static } from 'typebox'

/** Prefix of every Redis key and channel unless REDIS_PREFIX says otherwise. */
export const DEFAULT_REDIS_PREFIX = 'wh:'

/** false, true, a hop count, or a list of IP addresses / CIDR ranges (checked in config.ts). */
const TRUST_PROXY_PATTERN = '^(true|false|[0-9]{1,2}|[0-9A-Fa-f:.]+(/[0-9]{1,3})?(\\s*,\\s*[0-9A-Fa-f:.]+(/[0-9]{1,3})?)*)$'

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
  TRUST_PROXY: Type.String({
    default: 'false',
    pattern: TRUST_PROXY_PATTERN,
    description:
      "Which X-Forwarded-* hops to believe: false; a hop count (1 = the proxy in front); or comma-separated proxy addresses/CIDRs (e.g. 10.0.0.2,172.30.0.0/24). true trusts any sender and lets clients choose their IP",
  }),
  BODY_LIMIT: Int(1_048_576, 1024, 104_857_600, 'Largest accepted HTTP body in bytes'),
  HTTP_REQUEST_TIMEOUT: Int(30, 1, 3600, 'Seconds a client may take to send a whole request (headers and body) before it is answered 408 and disconnected'),
  HTTP_HEADERS_TIMEOUT: Int(10, 1, 3600, 'Seconds a client may take to send the request headers (capped at HTTP_REQUEST_TIMEOUT)'),
  // --- storage
  DATA_DIR: Type.String({ default: './data', minLength: 1, description: 'Folder for the embedded database, secrets and server files' }),
  DATABASE_URL: Type.Optional(
    Type.String({ pattern: '^postgres(ql)?://', description: 'PostgreSQL URL; without it the embedded PGlite in DATA_DIR is used' }),
  ),
  DATABASE_POOL_SIZE: Int(10, 1, 500, 'Connections in the PostgreSQL pool'),
  DATABASE_WAIT: Int(30, 0, 3600, 'Seconds to wait at start-up for PostgreSQL to accept connections (0: fail at once)'),
  AUTO_MIGRATE: Bool(true, 'Apply pending migrations at start-up'),
  // --- security
  SOCKET_TOKEN_SECRET: Type.Optional(
    Type.String({ minLength: 32, description: 'HS256 secret for socket tokens (>= 32 chars). Required with DATABASE_URL; generated into DATA_DIR otherwise' }),
  ),
  SOCKET_TOKEN_TTL: Int(600, 5, 86_400, 'Socket token lifetime in seconds'),
  SOCKET_TOKEN_REPEAT: Int(30, 1, 3600, "Seconds between repeats of 'token expiring' / 'token expired' while the condition holds (Wings: 30)"),
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
  // --- websockets (all socket families)
  ALLOWED_ORIGINS: Type.String({ default: '', description: "Comma-separated origins allowed to open console/channel sockets: exact origins, '*', or anchored regexes (^...$). PUBLIC_URL's origin is always allowed" }),
  ALLOW_MISSING_ORIGIN: Type.Optional(Type.Boolean({ description: "Accept sockets without an Origin header (non-browser clients). Default: only when ALLOWED_ORIGINS contains '*'" })),
  WS_MAX_PAYLOAD: Int(65_536, 1024, 16_777_216, 'Largest inbound websocket frame ws will buffer, in bytes (protocols enforce smaller limits)'),
  WS_PERMESSAGE_DEFLATE: Bool(false, 'Offer permessage-deflate compression (costs CPU per message)'),
  WS_PING_INTERVAL: Int(25, 1, 3600, 'Seconds between keepalive pings; a peer missing one ping is dropped'),
  WS_BACKLOG_SOFT: Int(65_536, 1024, 1_073_741_824, 'Buffered bytes per socket above which droppable messages are collapsed'),
  WS_BACKLOG_HARD: Int(1_048_576, 4096, 1_073_741_824, 'Buffered bytes per socket above which a must-deliver message disconnects the client (close 4008)'),
  WS_COALESCE_WRITES: Type.Union([Type.Literal('tick'), Type.Literal('immediate'), Type.Literal('off')], {
    default: 'tick',
    description:
      "Frames a socket gets close together leave in one write, each still its own frame: 'tick' once the current callback is done, 'immediate' after the event loop's current I/O phase (fewer writes under load, the first frames wait for the phase), 'off' one write per frame",
  }),
  WS_MAX_CONNECTIONS: Int(1000, 1, 1_000_000, 'Channel sockets open at once, in total'),
  WS_MAX_CONNECTIONS_PER_USER: Int(100, 1, 1_000_000, 'Channel sockets open at once per user'),
  WS_CONNECTIONS_PER_MINUTE: Int(10, 1, 1_000_000, 'New channel sockets per minute per user (and per IP before authentication)'),
  WS_MESSAGES_PER_SECOND: Int(100, 1, 1_000_000, 'Inbound messages per second per channel socket'),
  WS_MAX_MESSAGE_BYTES: Int(1024, 64, 1_048_576, 'Largest inbound channel message in bytes (larger closes with 1009)'),
  WS_MAX_BATCH: Int(50, 1, 1000, 'Most messages in one channel batch'),
  CHANNEL_AUTH_TIMEOUT: Int(10, 1, 600, 'Seconds a channel socket may stay unauthenticated'),
  WS_MAX_PENDING: Int(256, 1, 1_000_000, 'Unauthenticated console and channel sockets at once, in total (a budget of their own: authenticated sockets are never refused for them)'),
  WS_MAX_PENDING_PER_IP: Int(16, 1, 1_000_000, 'Unauthenticated console and channel sockets at once from one address (more: HTTP 429 before the upgrade)'),
  // --- game-server consoles
  NODE_NAME: Type.String({ default: 'default', pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'Name of this instance as a node that runs game servers' }),
  CONSOLE_AUTH_TIMEOUT: Int(30, 1, 600, 'Seconds a console socket may stay unauthenticated'),
  CONSOLE_HISTORY_LINES: Int(150, 1, 10_000, "Lines replayed by 'send logs'"),
  CONSOLE_BUFFER_LINES: Int(1000, 10, 100_000, 'Console lines kept per server in memory'),
  CONSOLE_MAX_SOCKETS: Int(30, 1, 10_000, 'Authenticated console sockets per server'),
  CONSOLE_MAX_MESSAGE_BYTES: Int(4096, 64, 1_048_576, 'Largest inbound console message in bytes (Wings: 4096; larger closes with 1009)'),
  CONSOLE_MESSAGES_PER_SECOND: Int(5, 1, 1_000_000, "Inbound messages per second per console socket, burst twice that (Wings' per-event throttles apply on top)"),
  CONSOLE_THROTTLE_LINES: Int(2000, 10, 1_000_000, 'Console lines per throttle period before output is dropped (Wings: 2000)'),
  CONSOLE_THROTTLE_PERIOD_MS: Int(100, 10, 60_000, 'Console throttle period in ms (Wings: 100)'),
  STOP_TIMEOUT: Int(30, 1, 3600, 'Seconds a stopping server gets before it is killed'),
  STATS_INTERVAL_MS: Int(1000, 100, 60_000, 'Period of server stats while running'),
  SERVERS_STOP_ON_SHUTDOWN: Bool(false, 'Stop every game server when wirehub stops; by default they keep running and the next start re-attaches to them'),
  CONSOLE_LOG_MAX_BYTES: Int(8_388_608, 4096, 1_073_741_824, 'Size in bytes at which a server\'s console log file is rotated'),
  CONSOLE_LOG_FILES: Int(4, 1, 100, 'Rotated console log files kept per server (besides the current one)'),
  CONSOLE_RESUME_MAX_LINES: Int(5000, 1, 1_000_000, "Most lines one 'send logs since' replays; older ones are in the REST log"),
  SERVERS_SANDBOX: Type.Union([Type.Literal('auto'), Type.Literal('bwrap'), Type.Literal('off')], {
    default: 'auto',
    description: "Sandbox game servers with bubblewrap: auto (when bwrap works), bwrap (required: a server does not start without it) or off",
  }),
  SERVERS_USER: Type.String({ default: '65534:65534', pattern: '^\\d{1,10}:\\d{1,10}$', description: 'uid:gid game servers run as when wirehub runs as root' }),
  SERVERS_LAUNCHER: Type.Optional(Type.String({ pattern: '^/', description: 'Unix socket of the launcher (node dist/launcher.js) that starts game servers, so they live outside wirehub\'s process tree or container. Unset: wirehub starts them itself' })),
  SERVERS_CGROUP: Type.Optional(Type.String({ minLength: 1, description: 'cgroup v2 folder wirehub may create server groups in (delegated to it). Default: its own cgroup (v1: per controller)' })),
  DEMO_SERVER: Type.Optional(Type.Boolean({ description: 'Create the demo game server on first start. Default: in embedded mode' })),
  // --- IoT channels
  DEVICE_OFFLINE_AFTER: Int(60, 1, 86_400, 'Seconds of silence after which a device is offline'),
  TELEMETRY_MAX_READINGS: Int(1000, 1, 100_000, 'Most readings in one ingestion request'),
  TELEMETRY_RETENTION: Int(30, 0, 36_500, 'Days telemetry (readings and their rollups) is kept; 0 keeps it forever. A device may override it (telemetry_retention_days)'),
  TELEMETRY_PARTITIONS_AHEAD: Int(3, 1, 60, 'Daily telemetry partitions created ahead of today'),
  ACTIVITY_RETENTION: Int(90, 0, 36_500, 'Days server activity logs are kept; 0 keeps them forever'),
  DEVICE_EVENTS_RETENTION: Int(90, 0, 36_500, 'Days device status events are kept; 0 keeps them forever'),
  RESOLVED_ALERTS_RETENTION: Int(90, 0, 36_500, 'Days resolved alerts are kept after they were resolved; 0 keeps them forever'),
  RETENTION_INTERVAL: Int(3600, 10, 86_400, 'Seconds between retention and partition-maintenance runs (also run at start-up)'),
  SYSTEM_STATUS_INTERVAL: Int(5, 1, 3600, 'Default period of system_status_update in seconds'),
  // --- MQTT ingestion and device commands
  MQTT_ENABLED: Bool(true, 'Serve devices over MQTT: the embedded broker, or the external broker of MQTT_URL'),
  MQTT_PORT: Int(1883, 0, 65535, 'Port of the embedded MQTT broker (0 picks a free one); if it is taken, start-up logs a warning and continues without MQTT'),
  MQTT_HOST: Type.Optional(Type.String({ minLength: 1, description: 'Interface of the embedded MQTT broker. Default: HOST' })),
  MQTT_URL: Type.Optional(Type.String({ pattern: '^mqtts?://', description: 'External broker (mqtt://user:pass@host:1883): wirehub subscribes to it with MQTT 5 shared subscriptions instead of embedding a broker' })),
  MQTT_TOPIC_PREFIX: Type.String({ default: 'wirehub/devices', pattern: '^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$', description: 'External mode: devices use <prefix>/<device id>/telemetry, /status, /rpc/request/<id>, /rpc/response/<id>' }),
  MQTT_SHARE_GROUP: Type.String({ default: 'wirehub', pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'External mode: shared-subscription group; instances in one group ingest each message once' }),
  MQTT_MAX_PACKET_BYTES: Int(1_048_576, 1024, 268_435_455, 'Largest MQTT packet a device may send to the embedded broker; a larger one closes the connection'),
  MQTT_MESSAGES_PER_SECOND: Int(100, 1, 1_000_000, 'Messages per second per device on the embedded broker; faster publishers are slowed down (their acknowledgements wait)'),
  COMMAND_DEFAULT_TIMEOUT: Int(60, 1, 2_592_000, 'Seconds a device command may take (from creation to result) when the request names no timeout'),
  COMMAND_MAX_TIMEOUT: Int(604_800, 1, 2_592_000, 'Largest timeout in seconds a device command may ask for'),
  COMMAND_POLL_INTERVAL_MS: Int(1000, 50, 60_000, 'How often an instance looks for queued commands of the devices connected to it and for expired commands'),
  // --- user events socket; also settable as websocket.port / websocket.approvedSocketDomains in CONFIG_FILE
  USER_EVENTS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'Extra port for the user events socket (0: any free port); unset or equal to PORT serves it only at /ws/users' })),
  APPROVED_SOCKET_DOMAINS: Type.Array(Type.String({ maxLength: 1000 }), { default: [], maxItems: 1000, description: 'JSON array of regexes matched against the Origin of user-event sockets; empty refuses all' }),
  USER_EVENTS_REQUIRE_KEY: Bool(false, 'Also require an application API key in the Authorization header of user-event sockets (recommended whenever the socket is reachable from other machines)'),
  USER_EVENTS_ALLOWED_IPS: Type.String({ default: '', description: 'Comma-separated addresses or CIDR ranges allowed to open user-event sockets; empty allows any address' }),
  USER_EVENTS_MAX_CONNECTIONS: Int(100, 1, 1_000_000, 'User-event sockets open at once, in total'),
  USER_EVENTS_MAX_CONNECTIONS_PER_IP: Int(10, 1, 1_000_000, 'User-event sockets open at once from one address'),
  USER_EVENTS_MAX_MESSAGE_BYTES: Int(4096, 64, 1_048_576, 'Largest inbound user-event message in bytes (larger closes with 1009)'),
  USER_EVENTS_MESSAGES_PER_SECOND: Int(20, 1, 1_000_000, 'Inbound messages per second per user-event socket, burst twice that'),
  // --- scale-out
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'Redis URL; enables the multi-instance backplane' })),
  REDIS_PREFIX: Type.String({ default: DEFAULT_REDIS_PREFIX, pattern: '^[A-Za-z0-9_.:{}/-]{1,64}$', description: 'Prefix of every Redis key and channel wirehub uses, so deployments can share one Redis' }),
  REDIS_NODE_TTL: Int(15, 2, 3600, 'Seconds after which a crashed instance is forgotten: its node entry and its connection slots expire (refreshed every third of this)'),
  REVOCATION_CHECK_INTERVAL: Int(10, 1, 3600, 'Seconds between re-checks of the credentials behind open sockets and cached keys/sessions, so a revocation another instance could not announce (Redis down) still takes effect within this time'),
  METRICS_REQUIRE_KEY: Bool(false, 'Require an application API key for /metrics'),
  // --- operations
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'pino log level' },
  ),
  LOG_PRETTY: Type.Optional(Type.Boolean({ description: 'Human-readable logs (needs the pino-pretty development dependency). Default: when stdout is a terminal' })),
  SHUTDOWN_TIMEOUT: Int(10, 1, 600, 'Seconds to finish in-flight work on SIGTERM before exiting'),
})

export type Config = Static<typeof ConfigSchema> & {
  /** Resolved external base URL without a trailing slash. */
  publicUrl: string
  /** TRUST_PROXY as Fastify's `trustProxy` takes it. */
  trustProxy: boolean | string[] | ((addr: string, hop: number) => boolean)
  /** True when DATABASE_URL is unset and PGlite in DATA_DIR is used. */
  embedded: boolean
}
