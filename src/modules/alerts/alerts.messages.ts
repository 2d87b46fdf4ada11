/**
 * What the alerts module publishes on the channel sockets: `alert`, once per raised alert. The
 * payload handed to the hub, the outbound message schema (TypeBox) and its codec live together,
 * so the message shape is defined once, by its publisher.
 */
import Type, { type Static } from 'typebox'
import type { Codec, Hub } from '../realtime/hub.js'
import { SEVERITIES } from './alert-rules.evaluate.js'

/** Codec name registered on the hub. */
export const ALERT_CODEC = 'channels.alert'

export const AlertMessage = Type.Object({
  type: Type.Literal('alert'),
  channel: Type.Literal('alerts'),
  alert_id: Type.Integer(),
  device_id: Type.Integer(),
  severity: Type.Union(SEVERITIES.map((s) => Type.Literal(s))),
  title: Type.String(),
  message: Type.String(),
  timestamp: Type.String({ description: 'ISO 8601' }),
  alert_type: Type.String(),
  metadata: Type.Object(
    { threshold_value: Type.Number(), actual_value: Type.Number() },
    { additionalProperties: true, description: 'threshold_value, actual_value, metric, operator, rule_id, unit, reading_timestamp' },
  ),
})

export interface AlertPayload extends Omit<Static<typeof AlertMessage>, 'type' | 'channel' | 'severity' | 'metadata'> {
  severity: string
  metadata: Record<string, unknown>
}

export const alertCodec: Codec = {
  encode(payload) {
    const p = payload as AlertPayload
    return JSON.stringify({
      type: 'alert',
      channel: 'alerts',
      alert_id: p.alert_id,
      device_id: p.device_id,
      severity: p.severity,
      title: p.title,
      message: p.message,
      timestamp: p.timestamp,
      alert_type: p.alert_type,
      metadata: p.metadata,
    })
  },
}

/** An alert's status changed (acknowledged, resolved — by a user or automatically). */
export const ALERT_STATUS_CODEC = 'channels.alert_status'

export const AlertStatusMessage = Type.Object({
  type: Type.Literal('alert_status_update'),
  channel: Type.Literal('alerts'),
  alert_id: Type.Integer(),
  device_id: Type.Integer(),
  status: Type.Union([Type.Literal('acknowledged'), Type.Literal('resolved')]),
  /** null: resolved automatically (the rule's auto_resolve). */
  by: Type.Union([Type.Integer(), Type.Null()], { description: 'user id, or null when resolved automatically' }),
  automatic: Type.Boolean(),
  timestamp: Type.String({ description: 'ISO 8601' }),
})
export type AlertStatusPayload = Omit<Static<typeof AlertStatusMessage>, 'type' | 'channel'> & { severity: string; alert_type: string }

export const alertStatusCodec: Codec = {
  encode(payload) {
    const p = payload as AlertStatusPayload
    return JSON.stringify({ type: 'alert_status_update', channel: 'alerts', alert_id: p.alert_id, device_id: p.device_id, status: p.status, by: p.by, automatic: p.automatic, timestamp: p.timestamp })
  },
}

export function registerAlertCodecs(hub: Hub): void {
  hub.registerCodec(ALERT_CODEC, alertCodec)
  hub.registerCodec(ALERT_STATUS_CODEC, alertStatusCodec)
}
