/**
 * In-memory stand-ins for the SDK's injected dependencies: a manual clock, a WebSocket whose
 * "server side" the test drives frame by frame, and a fetch that answers from a route table.
 * They let the reconnect, refresh and catch-up logic be tested deterministically, without
 * sleeping; the real-server tests in this folder cover the same paths end to end.
 */
import type { Clock, WebSocketLike } from '../../packages/client/src/index.js'

export class ManualClock implements Clock {
  private t = 1_700_000_000_000
  private seq = 0
  readonly timers = new Map<number, { at: number; fn: () => void; ms: number }>()

  now(): number {
    return this.t
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq
    this.timers.set(id, { at: this.t + ms, fn, ms })
    return id
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number)
  }

  /** Delays of the pending timers, in the order they were set. */
  pendingDelays(): number[] {
    return [...this.timers.values()].map((x) => x.ms)
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e
      if (!next) break
      this.timers.delete(next[0])
      this.t = next[1].at
      next[1].fn()
    }
    this.t = end
  }
}

/** A fake socket: `sent` holds the parsed frames the client wrote; the test plays the server. */
export class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = []
  readyState = 0
  readonly sent: any[] = []
  onopen: ((ev: any) => void) | null = null
  onmessage: ((ev: any) => void) | null = null
  onclose: ((ev: any) => void) | null = null
  onerror: ((ev: any) => void) | null = null
  closedByClient: { code?: number; reason?: string } | null = null

  constructor(
    readonly url: string,
    readonly options?: unknown,
  ) {
    FakeSocket.all.push(this)
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data))
  }

  close(code?: number, reason?: string): void {
    this.closedByClient = { code, reason }
    this.readyState = 3
  }

  /* server side */
  open(): void {
    this.readyState = 1
    this.onopen?.({})
  }

  push(frame: unknown): void {
    this.onmessage?.({ data: JSON.stringify(frame) })
  }

  serverClose(code: number, reason = ''): void {
    this.readyState = 3
    this.onclose?.({ code, reason })
  }

  sentOf(pred: (f: any) => boolean): any[] {
    return this.sent.filter(pred)
  }
}

export type Route = (url: URL, init: RequestInit | undefined) => { status?: number; body: unknown } | Promise<{ status?: number; body: unknown }>

/** fetch over a route table keyed by pathname; records every call. */
export function fakeFetch(routes: Record<string, Route>) {
  const calls: Array<{ url: URL; init: RequestInit | undefined }> = []
  const fetch = async (input: string, init?: RequestInit): Promise<Response> => {
    const url = new URL(input)
    calls.push({ url, init })
    const route = routes[url.pathname]
    if (!route) return new Response(JSON.stringify({ errors: [{ code: 'NotFoundHttpException', status: '404', detail: 'no route' }] }), { status: 404 })
    const { status = 200, body } = await route(url, init)
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })
  }
  return { fetch, calls, count: (path: string) => calls.filter((c) => c.url.pathname === path).length }
}

/** Lets pending promise callbacks (fetch, JSON parsing) run. */
export async function flush(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r))
}

/** Waits (event loop turns, not time) until `pred` holds. */
export async function settle(pred: () => boolean, what: string, rounds = 200): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (pred()) return
    await new Promise<void>((r) => setImmediate(r))
  }
  throw new Error(`never happened: ${what}`)
}
