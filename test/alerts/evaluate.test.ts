/** Alert rule evaluation as pure logic: operators, hysteresis, cooldown, templates. */
import t from 'tap'
import { clearThresholdProblem, compare, render, step, type RuleSpec, type RuleState } from '../../src/modules/alerts/alert-rules.evaluate.js'

const run = (rule: RuleSpec, values: number[], start: RuleState = { breached: false, lastFiredAt: null }, dt = 1000) => {
  let state = start
  const fired: number[] = []
  values.forEach((v, i) => {
    const r = step(rule, state, v, i * dt)
    state = r.state
    if (r.fire) fired.push(v)
  })
  return { fired, state }
}

t.test('operators', async (t) => {
  t.ok(compare('>', 2, 1))
  t.notOk(compare('>', 1, 1))
  t.ok(compare('>=', 1, 1))
  t.ok(compare('<', 0, 1))
  t.ok(compare('<=', 1, 1))
  t.ok(compare('==', 1, 1))
  t.notOk(compare('==', 1.0001, 1))
})

t.test('one long breach raises one alert, even wobbling around the threshold (hysteresis)', async (t) => {
  const rule: RuleSpec = { operator: '>', threshold: 30, clearThreshold: 28, cooldownSec: 0 }
  t.same(run(rule, [25, 31, 35, 29.5, 30.5, 29, 31]).fired, [31], 'above 28 the breach continues')
  t.same(run(rule, [31, 27, 31]).fired, [31, 31], 'crossing the clear threshold ends it; the next breach fires')
  const noHyst: RuleSpec = { operator: '>', threshold: 30, clearThreshold: null, cooldownSec: 0 }
  t.same(run(noHyst, [31, 32, 30, 31]).fired, [31, 31], 'without a clear threshold the threshold itself clears')
  const below: RuleSpec = { operator: '<', threshold: 10, clearThreshold: 12, cooldownSec: 0 }
  t.same(run(below, [15, 9, 11, 9, 12, 9]).fired, [9, 9])
  const eq: RuleSpec = { operator: '==', threshold: 1, clearThreshold: null, cooldownSec: 0 }
  t.same(run(eq, [0, 1, 1, 0, 1]).fired, [1, 1])
})

t.test('cooldown: a new breach inside it raises nothing, and is not raised later either', async (t) => {
  const rule: RuleSpec = { operator: '>=', threshold: 5, clearThreshold: null, cooldownSec: 10 }
  // one value per second: fire at 0 s, clear at 1 s, breach at 2 s (inside 10 s), clear, breach at 11 s
  const values = [5, 0, 6, 7, 0, 0, 0, 0, 0, 0, 0, 9]
  t.same(run(rule, values).fired, [5, 9])
  const r = step(rule, { breached: false, lastFiredAt: 0 }, 6, 5000)
  t.same(r, { state: { breached: true, lastFiredAt: 0 }, fire: false, changed: true })
})

t.test('clear threshold must lie on the safe side', async (t) => {
  t.equal(clearThresholdProblem('>', 30, 28), null)
  t.match(clearThresholdProblem('>', 30, 31), /must be <= threshold/)
  t.match(clearThresholdProblem('<', 10, 9), /must be >= threshold/)
  t.match(clearThresholdProblem('==', 1, 1), /cannot be used/)
  t.equal(clearThresholdProblem('==', 1, null), null)
})

t.test('templates', async (t) => {
  t.equal(render('{{device_name}} {{ metric }} {{value}} > {{threshold}} {{nope}}', { device_name: 'Boiler', metric: 'temp', value: 32.5, threshold: 30 }), 'Boiler temp 32.5 > 30 {{nope}}')
  t.equal(render('{{__proto__}}{{constructor}}', {}), '{{__proto__}}{{constructor}}', 'prototype names are not variables')
})
