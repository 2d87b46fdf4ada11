/**
 * "Unavailable" states that recover by themselves: `retryLoad` runs a load, and on a failure
 * worth retrying (network, 408, 429, 5xx) shows the error with a countdown and tries again with
 * backoff (1 s doubling to 15 s), at once when the browser comes back online or on "Retry now".
 * Failures that asking again cannot fix (404, 403, …) are shown once, for good.
 */
import { errorMessage, WirehubHttpError } from '../lib/api.js'
import { button, emptyState, h } from '../lib/dom.js'

export interface RetryLoad {
  /** Tries again now (resets the backoff). */
  now(): void
  stop(): void
}

export function retryable(err: unknown): boolean {
  return !(err instanceof WirehubHttpError) || !err.terminal
}

/**
 * `load` resolves when it succeeded (it renders itself); `show(el)` puts the unavailable state
 * on the page while retrying; `terminal(err)` renders a failure that will not be retried.
 */
export function retryLoad(opts: { what: string; icon: string; load: () => Promise<void>; show: (el: HTMLElement) => void; terminal: (err: unknown) => void }): RetryLoad {
  let attempt = 0
  let timer = 0
  let countdown = 0
  let stopped = false
  const run = async () => {
    clearTimeout(timer)
    clearInterval(countdown)
    if (stopped) return
    try {
      await opts.load()
      attempt = 0
    } catch (err) {
      if (stopped) return
      if (!retryable(err)) return opts.terminal(err)
      const wait = Math.min(15_000, 1000 * 2 ** attempt++)
      let left = Math.ceil(wait / 1000)
      const note = h('span', { 'data-testid': 'retry-countdown' }, `Retrying in ${left} s…`)
      opts.show(
        h(
          'div',
          { class: 'card', 'data-testid': 'unavailable' },
          emptyState(opts.icon, `${opts.what} unavailable`, errorMessage(err), h('div', { class: 'retry-note', role: 'status' }, note, button('Retry now', { kind: 'secondary', onClick: () => void api.now() }))),
        ),
      )
      countdown = window.setInterval(() => {
        left = Math.max(0, left - 1)
        note.textContent = `Retrying in ${left} s…`
      }, 1000)
      timer = window.setTimeout(() => void run(), wait)
    }
  }
  const onOnline = () => api.now()
  window.addEventListener('online', onOnline)
  const api: RetryLoad = {
    now() {
      attempt = 0
      void run()
    },
    stop() {
      stopped = true
      clearTimeout(timer)
      clearInterval(countdown)
      window.removeEventListener('online', onOnline)
    },
  }
  void run()
  return api
}
