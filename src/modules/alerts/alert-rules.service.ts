/**
 * Alert rules: CRUD per device, a per-device cache of compiled rules (with their breach state),
 * and evaluation of stored readings against them. Evaluation itself is the pure `step` of
 * alert-rules.evaluate.ts; here we only feed it, persist state changes and raise alerts.
 * State changes happen synchronously on the cached rule, so concurrent requests for the same
 * device cannot both start the same breach.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Prisma } from '../../db/database.js'
import { FieldError, NotFound } from '../../lib/errors.js'
import type { MetricSample } from '../devices/devices.messages.js'
import type { DeviceInfo } from '../devices/device-directory.js'
import type { AlertsService } from './alerts.service.js'
import {
  DEFAULT_MESSAGE,
  DEFAULT_TITLE,
  clearThresholdProblem,
  render,
  step,
  type Operator,
  type RuleSpec,
  type RuleState,
} from './alert-rules.evaluate.js'

export const MAX_RULES_PER_DEVICE = 100

export interface RuleRow {
  id: number
  deviceId: number
  metric: string
  operator: string
  threshold: number
  clearThreshold: number | null
  severity: string
  alertType: string
  titleTemplate: string
  messageTemplate: string
  cooldownSec: number
  autoResolve: boolean
  enabled: boolean
  breached: boolean
  lastFiredAt: Date | null
  createdAt: Date
  updatedAt: Date
}

interface CachedRule {
  row: RuleRow
  spec: RuleSpec
  state: RuleState
}

export interface RuleInput {
  metric?: string | undefined
  operator?: Operator | undefined
  threshold?: number | undefined
  clear_threshold?: number | null | undefined
  severity?: string | undefined
  alert_type?: string | undefined
  title?: string | undefined
  message?: string | undefined
  cooldown?: number | undefined
  auto_resolve?: boolean | undefined
  enabled?: boolean | undefined
}

export function ruleAttributes(r: RuleRow) {
  return {
    id: r.id,
    device_id: r.deviceId,
    metric: r.metric,
    operator: r.operator,
    threshold: r.threshold,
    clear_threshold: r.clearThreshold,
    severity: r.severity,
    alert_type: r.alertType,
    title: r.titleTemplate,
    message: r.messageTemplate,
    cooldown: r.cooldownSec,
    auto_resolve: r.autoResolve,
    enabled: r.enabled,
    breached: r.breached,
    last_fired_at: r.lastFiredAt ? r.lastFiredAt.toISOString() : null,
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
  }
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : String(Math.round(n * 1e6) / 1e6))

export function createAlertRulesService(deps: { prisma: Prisma; alerts: AlertsService; log: FastifyBaseLogger; cacheTtlMs?: number }) {
  const { prisma, alerts, log } = deps
  const ttl = deps.cacheTtlMs ?? 60_000
  const cache = new Map<number, { rules: Promise<CachedRule[]>; expiresAt: number }>()

  function rulesOf(deviceId: number): Promise<CachedRule[]> {
    const hit = cache.get(deviceId)
    if (hit && hit.expiresAt > Date.now()) return hit.rules
    const rules = prisma.alertRule
      .findMany({ where: { deviceId, enabled: true }, orderBy: { id: 'asc' } })
      .then((rows) =>
        rows.map((row) => ({
          row,
          spec: { operator: row.operator as Operator, threshold: row.threshold, clearThreshold: row.clearThreshold, cooldownSec: row.cooldownSec },
          state: { breached: row.breached, lastFiredAt: row.lastFiredAt ? row.lastFiredAt.getTime() : null },
        })),
      )
    rules.catch(() => cache.delete(deviceId))
    cache.set(deviceId, { rules, expiresAt: Date.now() + ttl })
    return rules
  }

  function check(next: { operator: Operator; threshold: number; clearThreshold: number | null }) {
    const problem = clearThresholdProblem(next.operator, next.threshold, next.clearThreshold)
    if (problem) throw new FieldError('clear_threshold', problem, 'hysteresis')
  }

  async function findRule(deviceId: number, ruleId: number) {
    const row = await prisma.alertRule.findFirst({ where: { id: ruleId, deviceId } })
    if (!row) throw new NotFound()
    return row
  }

  return {
    /**
     * Evaluates stored readings (in order) against the device's rules; persists state changes
     * and raises one alert per new breach. Resolves once every alert is stored and published.
     */
    async evaluate(device: DeviceInfo, readings: ReadonlyArray<Record<string, MetricSample>>, now: number): Promise<void> {
      const rules = await rulesOf(device.id)
      if (rules.length === 0) return
      const dirty = new Set<CachedRule>()
      const fired: Array<{ rule: CachedRule; sample: MetricSample; prevFiredAt: number | null }> = []
      const cleared = new Set<CachedRule>()
      for (const reading of readings) {
        for (const rule of rules) {
          const sample = Object.hasOwn(reading, rule.row.metric) ? reading[rule.row.metric] : undefined
          if (!sample) continue
          const prevFiredAt = rule.state.lastFiredAt
          const r = step(rule.spec, rule.state, sample.value, now)
          if (!r.changed) continue
          rule.state = r.state
          dirty.add(rule)
          if (r.fire) fired.push({ rule, sample, prevFiredAt })
          if (!r.state.breached && rule.row.autoResolve) cleared.add(rule)
          else cleared.delete(rule)
        }
      }
      if (dirty.size === 0) return
      const firing = new Set(fired.map((f) => f.rule))
      for (const rule of cleared) {
        await alerts.autoResolve(rule.row.id, device.id, device.ownerId).catch((err: unknown) => log.warn({ err, ruleId: rule.row.id }, 'could not resolve an alert'))
      }
      await Promise.all(
        [...dirty].filter((rule) => !firing.has(rule)).map((rule) =>
          prisma.alertRule
            .updateMany({
              where: { id: rule.row.id },
              data: { breached: rule.state.breached, lastFiredAt: rule.state.lastFiredAt === null ? null : new Date(rule.state.lastFiredAt) },
            })
            .catch((err) => log.warn({ err, ruleId: rule.row.id }, 'could not record alert rule state')),
        ),
      )
      for (const { rule, sample, prevFiredAt } of fired) {
        const r = rule.row
        // Compare-and-set on the last firing time: when instances share the database, exactly
        // one of them records this firing and raises the alert; a loser re-reads the rule state.
        const won = await prisma.alertRule
          .updateMany({
            where: { id: r.id, lastFiredAt: prevFiredAt === null ? null : new Date(prevFiredAt) },
            data: { breached: rule.state.breached, lastFiredAt: new Date(rule.state.lastFiredAt ?? now) },
          })
          .then((res) => res.count === 1)
          .catch((err: unknown) => {
            log.warn({ err, ruleId: r.id }, 'could not record alert rule state')
            return false
          })
        if (!won) {
          cache.delete(device.id)
          continue
        }
        const unit = sample.unit ?? ''
        const vars = {
          device_name: device.name,
          device_id: device.id,
          metric: r.metric,
          value: fmt(sample.value),
          threshold: fmt(r.threshold),
          operator: r.operator,
          severity: r.severity,
          alert_type: r.alertType,
          unit,
        }
        try {
          await alerts.raise({
            ruleId: r.id,
            deviceId: device.id,
            ownerId: device.ownerId,
            severity: r.severity,
            alertType: r.alertType,
            title: render(r.titleTemplate, vars).slice(0, 500),
            message: render(r.messageTemplate, vars).slice(0, 2000),
            metadata: {
              threshold_value: r.threshold,
              actual_value: sample.value,
              metric: r.metric,
              operator: r.operator,
              rule_id: r.id,
              unit: sample.unit,
              reading_timestamp: sample.timestamp,
            },
          })
        } catch (err) {
          // The device or rule was deleted meanwhile; the reading is stored regardless.
          log.warn({ err, ruleId: r.id }, 'could not raise an alert')
        }
      }
    },

    async list(deviceId: number) {
      return prisma.alertRule.findMany({ where: { deviceId }, orderBy: { id: 'asc' } })
    },

    get: findRule,

    async create(deviceId: number, input: RuleInput & { metric: string; operator: Operator; threshold: number }) {
      const clearThreshold = input.clear_threshold ?? null
      check({ operator: input.operator, threshold: input.threshold, clearThreshold })
      const count = await prisma.alertRule.count({ where: { deviceId } })
      if (count >= MAX_RULES_PER_DEVICE) throw new FieldError('metric', `at most ${MAX_RULES_PER_DEVICE} rules per device`, 'max')
      const row = await prisma.alertRule.create({
        data: {
          deviceId,
          metric: input.metric,
          operator: input.operator,
          threshold: input.threshold,
          clearThreshold,
          severity: input.severity ?? 'warning',
          alertType: input.alert_type ?? 'threshold',
          titleTemplate: input.title ?? DEFAULT_TITLE,
          messageTemplate: input.message ?? DEFAULT_MESSAGE,
          cooldownSec: input.cooldown ?? 300,
          autoResolve: input.auto_resolve ?? false,
          enabled: input.enabled ?? true,
        },
      })
      cache.delete(deviceId)
      return row
    },

    async update(deviceId: number, ruleId: number, input: RuleInput) {
      const cur = await findRule(deviceId, ruleId)
      const operator = input.operator ?? (cur.operator as Operator)
      const threshold = input.threshold ?? cur.threshold
      const clearThreshold = input.clear_threshold !== undefined ? input.clear_threshold : cur.clearThreshold
      check({ operator, threshold, clearThreshold })
      const changesCondition = input.metric !== undefined || input.operator !== undefined || input.threshold !== undefined
      const row = await prisma.alertRule.update({
        where: { id: ruleId },
        data: {
          ...(input.metric !== undefined ? { metric: input.metric } : {}),
          operator,
          threshold,
          clearThreshold,
          ...(input.severity !== undefined ? { severity: input.severity } : {}),
          ...(input.alert_type !== undefined ? { alertType: input.alert_type } : {}),
          ...(input.title !== undefined ? { titleTemplate: input.title } : {}),
          ...(input.message !== undefined ? { messageTemplate: input.message } : {}),
          ...(input.cooldown !== undefined ? { cooldownSec: input.cooldown } : {}),
          ...(input.auto_resolve !== undefined ? { autoResolve: input.auto_resolve } : {}),
          ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
          // A new condition starts clear: the old breach was about something else.
          ...(changesCondition ? { breached: false } : {}),
        },
      })
      cache.delete(deviceId)
      return row
    },

    async remove(deviceId: number, ruleId: number) {
      await findRule(deviceId, ruleId)
      await prisma.alertRule.delete({ where: { id: ruleId } })
      cache.delete(deviceId)
    },

    /** Drops a device's cached rules (device deleted). */
    forget(deviceId: number) {
      cache.delete(deviceId)
    },

    /** True when the device has enabled rules cached (ingestion skips evaluation otherwise). */
    async hasRules(deviceId: number): Promise<boolean> {
      return (await rulesOf(deviceId)).length > 0
    },
  }
}

export type AlertRulesService = ReturnType<typeof createAlertRulesService>
