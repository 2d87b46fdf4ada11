/**
 * Device commands as data: the states and which moves between them are allowed, the HTTP
 * schemas (owner API and device API) and the attributes every view of a command shares (REST,
 * the `commands` channel, MQTT and long-poll delivery).
 */
import Type from 'typebox'

/**
 * QUEUED → SENT → DELIVERED → SUCCEEDED | FAILED; EXPIRED from any open state once `timeout`
 * seconds have passed since creation; CANCELLED by the owner from any open state. SENT → QUEUED
 * when the connection that carried a command closed before the device acknowledged it.
 */
export const COMMAND_STATES = ['QUEUED', 'SENT', 'DELIVERED', 'SUCCEEDED', 'FAILED', 'EXPIRED', 'CANCELLED'] as const
export type CommandState = (typeof COMMAND_STATES)[number]
export const OPEN_STATES: readonly CommandState[] = ['QUEUED', 'SENT', 'DELIVERED']
export const CommandStateSchema = Type.Unsafe<CommandState>({ type: 'string', enum: [...COMMAND_STATES] })

/** Largest `params` (and device result) as JSON text, in bytes. */
export const MAX_PARAMS_BYTES = 65_536
export const METHOD_PATTERN = '^[A-Za-z0-9_.:/-]{1,128}$'

export const CommandAttributes = Type.Object({
  id: Type.Integer(),
  device_id: Type.Integer(),
  method: Type.String(),
  params: Type.Unknown(),
  state: CommandStateSchema,
  result: Type.Unknown({ description: "the device's answer (SUCCEEDED), else null" }),
  error: Type.Union([Type.String(), Type.Null()], { description: 'why it FAILED (from the device) or EXPIRED' }),
  timeout: Type.Integer({ description: 'seconds from creation to expiry' }),
  transport: Type.Union([Type.Literal('mqtt'), Type.Literal('http'), Type.Null()], { description: 'how it was (last) sent' }),
  created_by: Type.Union([Type.Integer(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  sent_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  delivered_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  completed_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  expires_at: Type.String({ format: 'date-time' }),
})

export const CreateCommandBody = Type.Object(
  {
    method: Type.String({ pattern: METHOD_PATTERN, description: 'what the device should do (1-128 of A-Z a-z 0-9 _ . : / -)' }),
    params: Type.Optional(Type.Unknown({ description: `any JSON value (at most ${MAX_PARAMS_BYTES} bytes); default {}` })),
    timeout: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_592_000, description: 'seconds until the command expires unless it has a result (default COMMAND_DEFAULT_TIMEOUT)' })),
  },
  { additionalProperties: false },
)

export const CommandParams = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
  commandId: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
})

export const CommandListQuery = Type.Object({
  state: Type.Optional(CommandStateSchema),
  before: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'only commands with a smaller id (the next page, newest first)' })),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
})

/** What a device receives: enough to act and answer. */
export const DeviceCommandAttributes = Type.Object({
  id: Type.Integer(),
  method: Type.String(),
  params: Type.Unknown(),
  expires_at: Type.String({ format: 'date-time' }),
})

export const PollQuery = Type.Object({
  wait: Type.Integer({ minimum: 0, maximum: 60, default: 30, description: 'seconds to wait for a command when none is queued (long poll)' }),
})

export const DeviceReplyBody = Type.Object(
  {
    result: Type.Optional(Type.Unknown({ description: 'the outcome: the command SUCCEEDED' })),
    error: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'why it failed: the command FAILED' })),
  },
  { additionalProperties: false, description: '{} acknowledges receipt only (DELIVERED); `result` or `error` finishes the command' },
)
