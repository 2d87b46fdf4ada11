/**
 * Alert rule evaluation, pure (no I/O, time from the caller), so it is tested directly.
 *
 * A rule is in one of two states: clear or breached. A value that satisfies `operator
 * threshold` while clear starts a breach; the breach lasts until the value crosses the clear
 * threshold (hysteresis; default: the threshold itself), so one long breach — even one that
 * wobbles around the threshold — raises one alert. A breach raises an alert unless the rule
 * fired less than `cooldownSec` ago (a breach starting inside the cooldown is still tracked, so
 * it does not fire later either).
 */
export const OPERATORS = ['>', '>=', '<', '<=', '=='] as const
export type Operator = (typeof OPERATORS)[number]
export const SEVERITIES = ['info', 'warning', 'critical'] as const
export type Severity = (typeof SEVERITIES)[number]

export interface RuleSpec {
  operator: Operator
  threshold: number
  clearThreshold: number | null
  cooldownSec: number
}

export interface RuleState {
  breached: boolean
  lastFiredAt: number | null
}

export interface StepResult {
  state: RuleState
  /** True when this value raises an alert. */
  fire: boolean
  /** True when the state must be persisted. */
  changed: boolean
}

export function compare(op: Operator, value: number, threshold: number): boolean {
  switch (op) {
    case '>': return value > threshold
    case '>=': return value >= threshold
    case '<': return value < threshold
    case '<=': return value <= threshold
    case '==': return value === threshold
  }
}

/** True when `value` ends a breach of `rule`. */
export function clears(rule: RuleSpec, value: number): boolean {
  const c = rule.clearThreshold ?? rule.threshold
  switch (rule.operator) {
    case '>': return value <= c
    case '>=': return value < c
    case '<': return value >= c
    case '<=': return value > c
    case '==': return value !== rule.threshold
  }
}

/** Where the clear threshold may lie for an operator (null: valid). */
export function clearThresholdProblem(op: Operator, threshold: number, clear: number | null): string | null {
  if (clear === null) return null
  if (op === '==') return 'a clear threshold cannot be used with ==' 
  if ((op === '>' || op === '>=') && clear > threshold) return `must be <= threshold (${threshold}) for ${op}`
  if ((op === '<' || op === '<=') && clear < threshold) return `must be >= threshold (${threshold}) for ${op}`
  return null
}

export function step(rule: RuleSpec, state: RuleState, value: number, now: number): StepResult {
  if (!state.breached) {
    if (!compare(rule.operator, value, rule.threshold)) return { state, fire: false, changed: false }
    const cooled = state.lastFiredAt === null || now - state.lastFiredAt >= rule.cooldownSec * 1000
    return { state: { breached: true, lastFiredAt: cooled ? now : state.lastFiredAt }, fire: cooled, changed: true }
  }
  if (clears(rule, value)) return { state: { breached: false, lastFiredAt: state.lastFiredAt }, fire: false, changed: true }
  return { state, fire: false, changed: false }
}

/** Replaces `{{name}}` (spaces allowed inside the braces) with vars[name]; unknown names stay. */
export function render(template: string, vars: Record<string, string | number>): string {
  return template.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (all, name: string) => (Object.hasOwn(vars, name) ? String(vars[name]) : all))
}

export const DEFAULT_TITLE = '{{device_name}}: {{metric}} {{operator}} {{threshold}}'
export const DEFAULT_MESSAGE = '{{metric}} is {{value}}{{unit}} ({{operator}} {{threshold}}{{unit}})'
