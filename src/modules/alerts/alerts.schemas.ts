/** HTTP schemas of alert rules and alerts (Client API). */
import Type from 'typebox'
import { METRIC_PATTERN } from '../devices/devices.schemas.js'
import { OPERATORS, SEVERITIES } from './alert-rules.evaluate.js'
import { ALERT_STATUSES } from './alerts.service.js'

const Operator = Type.Union(OPERATORS.map((o) => Type.Literal(o)))
const Severity = Type.Union(SEVERITIES.map((s) => Type.Literal(s)))
const Finite = (description: string) => Type.Number({ description })

export const RuleAttributes = Type.Object({
  id: Type.Integer(),
  device_id: Type.Integer(),
  metric: Type.String(),
  operator: Type.String(),
  threshold: Type.Number(),
  clear_threshold: Type.Union([Type.Number(), Type.Null()]),
  severity: Type.String(),
  alert_type: Type.String(),
  title: Type.String(),
  message: Type.String(),
  cooldown: Type.Integer(),
  auto_resolve: Type.Boolean(),
  enabled: Type.Boolean(),
  breached: Type.Boolean(),
  last_fired_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
})

const ruleFields = {
  metric: Type.String({ pattern: METRIC_PATTERN }),
  operator: Operator,
  threshold: Finite('value compared with the reading'),
  clear_threshold: Type.Optional(
    Type.Union([Type.Number(), Type.Null()], { description: 'hysteresis: the breach ends when the value crosses this (default: the threshold)' }),
  ),
  severity: Type.Optional(Severity),
  alert_type: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  title: Type.Optional(Type.String({ minLength: 1, maxLength: 191, description: 'template: {{device_name}} {{device_id}} {{metric}} {{value}} {{unit}} {{threshold}} {{operator}} {{severity}} {{alert_type}}' })),
  message: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'template, as title' })),
  cooldown: Type.Optional(Type.Integer({ minimum: 0, maximum: 604_800, description: 'seconds after an alert during which a new breach raises none (default 300)' })),
  auto_resolve: Type.Optional(Type.Boolean({ description: 'resolve the open alert when the value goes back past the clear threshold (default false: stays open until resolved)' })),
  enabled: Type.Optional(Type.Boolean()),
}

export const CreateRuleBody = Type.Object(ruleFields, { additionalProperties: false })

export const UpdateRuleBody = Type.Object(
  {
    ...ruleFields,
    metric: Type.Optional(ruleFields.metric),
    operator: Type.Optional(ruleFields.operator),
    threshold: Type.Optional(ruleFields.threshold),
  },
  { additionalProperties: false, minProperties: 1 },
)

export const RuleParams = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
  ruleId: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
})

export const AlertAttributes = Type.Object({
  id: Type.Integer(),
  rule_id: Type.Union([Type.Integer(), Type.Null()]),
  device_id: Type.Integer(),
  severity: Type.String(),
  alert_type: Type.String(),
  title: Type.String(),
  message: Type.String(),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  status: Type.String(),
  acknowledged_by: Type.Union([Type.Integer(), Type.Null()]),
  acknowledged_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  resolved_by: Type.Union([Type.Integer(), Type.Null()]),
  resolved_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
})

/** Comma-separated lists in the query string (`severity=critical,warning`). */
const CsvOf = (values: readonly string[]) => Type.String({ pattern: `^(${values.join('|')})(,(${values.join('|')}))*$` })

export const AlertListQuery = Type.Object({
  page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
  per_page: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  severity: Type.Optional(CsvOf(SEVERITIES)),
  status: Type.Optional(CsvOf(ALERT_STATUSES)),
  device_id: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647 })),
  since: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647, description: 'only alerts with a larger id, oldest first (catch-up after a reconnect)' })),
})

export const AlertParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) })
