/**
 * The seed's example client (docs: "Connecting to the API"), kept as close to the text as an
 * ESM TypeScript file allows: the `ws` module, an `origin` header, and the four handlers. The
 * handlers feed promises the tests await (events, never sleeps).
 */
import ws from 'ws'

export interface SeedEvent {
  eventType: number
  [key: string]: unknown
}

export interface SeedClient {
  wsClient: ws
  /** Resolves on 'open'; rejects with the 'error' (e.g. "Unexpected server response: 403"). */
  opened: Promise<void>
  closed: Promise<{ code: number; reason: string }>
  /** Every event received so far, in order. */
  events: SeedEvent[]
  /** The first not-yet-taken event matching `pred`, now or when it arrives. */
  take(pred: (e: SeedEvent) => boolean): Promise<SeedEvent>
}

export function seedClient(socketUrl: string, origin?: string, extraHeaders: Record<string, string> = {}): SeedClient {
  // Make sure the origin is set, and added to the approvedSocketDomains of the users config
  const headers: Record<string, string> = { ...extraHeaders }
  if (origin !== undefined) headers.origin = origin
  const wsClient = new ws(socketUrl, { headers })

  const events: SeedEvent[] = []
  const taken = new Set<SeedEvent>()
  let waiters: { pred: (e: SeedEvent) => boolean; resolve: (e: SeedEvent) => void }[] = []
  let onOpen!: () => void
  let onError!: (err: Error) => void
  const opened = new Promise<void>((resolve, reject) => {
    onOpen = resolve
    onError = reject
  })
  opened.catch(() => {}) // tests that expect a refusal await it themselves
  let onClose!: (c: { code: number; reason: string }) => void
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (onClose = resolve))

  wsClient.on('open', function () {
    // The connection has been opened
    onOpen()
  })

  wsClient.on('error', function (err) {
    // Something went wrong
    onError(err)
  })

  wsClient.on('close', function (code, reason) {
    // The connection has been closed
    onClose({ code, reason: reason.toString() })
  })

  wsClient.on('message', function (data) {
    // The server sent you an event
    const event = JSON.parse(data.toString()) as SeedEvent

    // Do something based on the event type:
    event.eventType
    events.push(event)
    for (const w of waiters) {
      if (!taken.has(event) && w.pred(event)) {
        taken.add(event)
        w.resolve(event)
        waiters = waiters.filter((x) => x !== w)
        break
      }
    }
  })

  return {
    wsClient,
    opened,
    closed,
    events,
    take(pred) {
      const found = events.find((e) => !taken.has(e) && pred(e))
      if (found) {
        taken.add(found)
        return Promise.resolve(found)
      }
      return new Promise((resolve) => waiters.push({ pred, resolve }))
    },
  }
}

/** Opens a seed client, waits for 'open', and closes it at teardown. */
export async function openSeedClient(t: { teardown(fn: () => unknown): void }, socketUrl: string, origin?: string, headers?: Record<string, string>): Promise<SeedClient> {
  const c = seedClient(socketUrl, origin, headers)
  t.teardown(() => c.wsClient.terminate())
  await c.opened
  return c
}

/** The HTTP status a refused upgrade was answered with (fails when the socket opens). */
export async function refusedStatus(socketUrl: string, origin?: string, headers?: Record<string, string>): Promise<number> {
  const c = seedClient(socketUrl, origin, headers)
  try {
    await c.opened
  } catch (err) {
    const m = /Unexpected server response: (\d+)/.exec((err as Error).message)
    if (m) return Number(m[1])
    throw err
  }
  c.wsClient.terminate()
  throw new Error(`socket to ${socketUrl} with origin ${String(origin)} was accepted`)
}

/** Socket URL for the main port's `/ws/users` from the helper's `http://…` url. */
export function mainSocketUrl(url: string): string {
  return `${url.replace(/^http/, 'ws')}/ws/users`
}
