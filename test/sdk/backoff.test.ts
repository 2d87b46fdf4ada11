/**
 * Backoff bounds: full jitter `random(0, min(cap, base * 2^attempt))`, and the reconnect
 * scheduler driven by an injected clock and random source (no waiting).
 */
import t from 'tap'
import { backoffDelay, backoffWindow, DEFAULT_BACKOFF, ReconnectScheduler } from '../../packages/client/src/index.js'
import { ManualClock } from './fakes.js'

t.test('the window doubles from base and stops at cap', async (t) => {
  const o = { baseMs: 100, capMs: 5000 }
  t.same([0, 1, 2, 3, 4, 5, 6, 7].map((a) => backoffWindow(a, o)), [100, 200, 400, 800, 1600, 3200, 5000, 5000])
  t.equal(backoffWindow(10_000, o), 5000, 'huge attempts stay at cap (no Infinity/NaN)')
  t.equal(backoffWindow(0), DEFAULT_BACKOFF.baseMs, 'defaults')
  t.equal(backoffWindow(100), DEFAULT_BACKOFF.capMs)
})

t.test('full jitter: every delay lies in [0, window), covering the whole window', async (t) => {
  const o = { baseMs: 100, capMs: 5000 }
  for (let attempt = 0; attempt < 12; attempt++) {
    const w = backoffWindow(attempt, o)
    t.equal(backoffDelay(attempt, o, () => 0), 0, `attempt ${attempt}: random 0 → 0`)
    const top = backoffDelay(attempt, o, () => 0.999999)
    t.ok(top < w && top >= w - 1, `attempt ${attempt}: random→1 gives just under ${w} (${top})`)
    t.equal(backoffDelay(attempt, o, () => 0.5), Math.floor(w / 2), 'linear in random')
  }
  // With the real random source, 1000 samples stay within bounds.
  for (let i = 0; i < 1000; i++) {
    const d = backoffDelay(3, o)
    if (d < 0 || d >= 800) t.fail(`out of bounds: ${d}`)
  }
})

t.test('the scheduler waits a jittered delay per attempt, resets and cancels', async (t) => {
  const clock = new ManualClock()
  let r = 0.5
  const s = new ReconnectScheduler({ baseMs: 100, capMs: 1000 }, clock, () => r)
  let runs = 0
  const delays: number[] = []
  for (let i = 0; i < 6; i++) {
    delays.push(s.schedule(() => runs++))
    t.ok(s.pending)
    clock.advance(delays[i]! - 1)
    t.equal(runs, i, `attempt ${i} not run before its delay`)
    clock.advance(1)
    t.equal(runs, i + 1, `attempt ${i} run at its delay`)
  }
  t.same(delays, [50, 100, 200, 400, 500, 500], 'half of 100,200,400,800,1000(cap),1000')
  t.equal(s.attempt, 6)
  s.reset()
  t.equal(s.attempt, 0)
  r = 0.999
  t.equal(s.schedule(() => runs++), 99, 'after reset the window is base again')
  s.cancel()
  t.notOk(s.pending)
  clock.advance(10_000)
  t.equal(runs, 6, 'a cancelled reconnect never runs')
  // scheduling again replaces a pending run instead of stacking a second one
  s.schedule(() => runs++)
  s.schedule(() => runs++)
  t.equal(clock.timers.size, 1, 'one pending timer')
})
