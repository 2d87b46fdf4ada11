/**
 * Request and response schemas of the servers module (Application API, Client API, subusers,
 * activity), in Pterodactyl's shapes. Response schemas filter: nothing unlisted leaves.
 */
import Type from 'typebox'
import { PaginationQuery } from '../../lib/envelope.js'

const REF = '^([0-9a-fA-F]{8}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$'

export const ClientServerParams = Type.Object({
  server: Type.String({ pattern: REF, description: 'Server uuid or 8-character identifier' }),
})

export const AppServerParams = Type.Object({
  server: Type.String({ pattern: `^([0-9]{1,9}|${REF.slice(2, -2)})$`, description: 'Server id, uuid or 8-character identifier' }),
})

const Stop = Type.Object(
  {
    type: Type.Union([Type.Literal('command'), Type.Literal('signal')], { description: "'command': written to the console; 'signal': sent to the process" }),
    value: Type.String({ minLength: 1, maxLength: 255, description: "e.g. 'stop' or 'SIGTERM'" }),
  },
  { additionalProperties: false },
)

const Environment = Type.Record(Type.String({ maxLength: 128 }), Type.String({ maxLength: 4096 }), { description: 'Extra environment variables of the process' })

const ServerFields = {
  name: Type.String({ minLength: 1, maxLength: 191 }),
  description: Type.String({ maxLength: 2000 }),
  user: Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'Owner user id' }),
  command: Type.String({ minLength: 1, maxLength: 1024, description: 'Program to run (no shell): an absolute path or a name found on PATH' }),
  args: Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 256, description: 'Program arguments' }),
  cwd: Type.Union([Type.String({ minLength: 1, maxLength: 1024 }), Type.Null()], { description: 'Working directory (absolute); default DATA_DIR/servers/<uuid>' }),
  environment: Environment,
  stop: Stop,
  done_pattern: Type.Union([Type.String({ minLength: 1, maxLength: 1024 }), Type.Null()], { description: 'Regex; the server is "starting" until a console line matches' }),
  limits: Type.Object(
    {
      memory: Type.Integer({ minimum: 0, maximum: 16_777_216, description: 'Memory limit in MiB (0: none); a hard cgroup limit where available' }),
      cpu: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, description: 'CPU limit in percent of one core (100: one core; 0: none); needs cgroups' })),
      disk: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_073_741_824, description: "Disk space of the server's folder in MiB (0: none): a start is refused and a running server stopped above it" })),
    },
    { additionalProperties: false },
  ),
  suspended: Type.Boolean(),
}

export const CreateServerBody = Type.Object(
  {
    name: ServerFields.name,
    user: ServerFields.user,
    command: ServerFields.command,
    description: Type.Optional(ServerFields.description),
    args: Type.Optional(ServerFields.args),
    cwd: Type.Optional(ServerFields.cwd),
    environment: Type.Optional(ServerFields.environment),
    stop: Type.Optional(ServerFields.stop),
    done_pattern: Type.Optional(ServerFields.done_pattern),
    limits: Type.Optional(ServerFields.limits),
    suspended: Type.Optional(ServerFields.suspended),
  },
  { additionalProperties: false },
)

/** Every field of a server, each optional; at least one. */
export const UpdateServerBody = Type.Partial(Type.Object(ServerFields), { additionalProperties: false, minProperties: 1 })

const State = Type.Union([Type.Literal('offline'), Type.Literal('starting'), Type.Literal('running'), Type.Literal('stopping')])

export const ApplicationServerAttributes = Type.Object({
  id: Type.Integer(),
  external_id: Type.Null(),
  uuid: Type.String(),
  identifier: Type.String(),
  name: Type.String(),
  description: Type.String(),
  status: Type.Union([Type.String(), Type.Null()]),
  suspended: Type.Boolean(),
  user: Type.Integer(),
  node: Type.String(),
  limits: Type.Object({ memory: Type.Integer(), swap: Type.Integer(), disk: Type.Integer(), io: Type.Integer(), cpu: Type.Integer(), threads: Type.Null(), oom_disabled: Type.Boolean() }),
  container: Type.Object({
    startup_command: Type.String(),
    command: Type.String(),
    args: Type.Array(Type.String()),
    cwd: Type.String(),
    environment: Environment,
    stop: Stop,
    done_pattern: Type.Union([Type.String(), Type.Null()]),
    installed: Type.Integer(),
  }),
  state: State,
  desired_state: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
})

export const ClientServerAttributes = Type.Object({
  server_owner: Type.Boolean(),
  identifier: Type.String(),
  internal_id: Type.Integer(),
  uuid: Type.String(),
  name: Type.String(),
  node: Type.String(),
  is_node_under_maintenance: Type.Boolean(),
  sftp_details: Type.Object({ ip: Type.String(), port: Type.Integer() }),
  description: Type.String(),
  limits: Type.Object({ memory: Type.Integer(), swap: Type.Integer(), disk: Type.Integer(), io: Type.Integer(), cpu: Type.Integer(), threads: Type.Null(), oom_disabled: Type.Boolean() }),
  invocation: Type.String(),
  docker_image: Type.String(),
  egg_features: Type.Array(Type.String()),
  feature_limits: Type.Object({ databases: Type.Integer(), allocations: Type.Integer(), backups: Type.Integer() }),
  status: Type.Union([Type.String(), Type.Null()]),
  is_suspended: Type.Boolean(),
  is_installing: Type.Boolean(),
  is_transferring: Type.Boolean(),
})

export const ClientServerMeta = Type.Object({ is_server_owner: Type.Boolean(), user_permissions: Type.Array(Type.String()) })

export const ClientListQuery = Type.Intersect([
  PaginationQuery,
  Type.Object({
    type: Type.Optional(Type.Union([Type.Literal('admin'), Type.Literal('admin-all'), Type.Literal('owner')], { description: "admin/admin-all: every server (administrators); owner: only owned servers" })),
  }),
])

export const ResourcesSchema = Type.Object({
  object: Type.Literal('stats'),
  attributes: Type.Object({
    current_state: State,
    is_suspended: Type.Boolean(),
    resources: Type.Object({
      memory_bytes: Type.Integer(),
      cpu_absolute: Type.Number(),
      disk_bytes: Type.Integer(),
      network_rx_bytes: Type.Integer(),
      network_tx_bytes: Type.Integer(),
      uptime: Type.Integer(),
    }),
  }),
})

export const PowerBody = Type.Object(
  { signal: Type.Union([Type.Literal('start'), Type.Literal('stop'), Type.Literal('restart'), Type.Literal('kill')]) },
  { additionalProperties: false },
)

export const CommandBody = Type.Object({ command: Type.String({ minLength: 1, maxLength: 4000 }) }, { additionalProperties: false })

export const WebsocketCredentials = Type.Object({
  data: Type.Object({ token: Type.String(), socket: Type.String() }),
})

export const SubuserParams = Type.Object({
  server: ClientServerParams.properties.server,
  user: Type.String({ format: 'uuid', description: 'Subuser (user) uuid' }),
})

export const SubuserAttributes = Type.Object({
  uuid: Type.String(),
  username: Type.Union([Type.String(), Type.Null()]),
  email: Type.String(),
  image: Type.String(),
  '2fa_enabled': Type.Boolean(),
  created_at: Type.String(),
  permissions: Type.Array(Type.String()),
})

const PermissionList = Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64, uniqueItems: true })

export const CreateSubuserBody = Type.Object(
  { email: Type.String({ format: 'email', maxLength: 191 }), permissions: PermissionList },
  { additionalProperties: false },
)

export const UpdateSubuserBody = Type.Object({ permissions: PermissionList }, { additionalProperties: false })

export const ActivityAttributes = Type.Object({
  id: Type.String(),
  batch: Type.Null(),
  event: Type.String(),
  is_api: Type.Boolean(),
  ip: Type.Union([Type.String(), Type.Null()]),
  description: Type.Null(),
  properties: Type.Record(Type.String(), Type.Unknown()),
  has_additional_metadata: Type.Boolean(),
  timestamp: Type.String(),
  relationships: Type.Object({
    actor: Type.Union([
      Type.Object({ object: Type.Literal('user'), attributes: Type.Object({ id: Type.Integer(), email: Type.Union([Type.String(), Type.Null()]) }) }),
      Type.Null(),
    ]),
  }),
})

export const PermissionsResponse = Type.Object({
  object: Type.Literal('system_permissions'),
  attributes: Type.Object({
    permissions: Type.Record(Type.String(), Type.Object({ description: Type.String(), keys: Type.Record(Type.String(), Type.String()) })),
  }),
})
