/**
 * Waiting in tests without fixed sleeps: poll a condition until a deadline, bound a promise by
 * one, and find a port that is free to bind (to start, stop and restart a server on it).
 */
import { once } from 'node:events'
import { createServer } from 'node:net'

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Polls `cond` until it returns a truthy value (returned); throws naming `what` after `ms`. */
export async function until<T>(cond: () => T | Promise<T>, what: string, ms = 20_000, everyMs = 10): Promise<NonNullable<T>> {
  const end = Date.now() + ms
  for (;;) {
    const v = await cond()
    if (v) return v as NonNullable<T>
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

/** `p`, or an error naming `what` after `ms` (the timer does not outlive the answer). */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)))])
  } finally {
    clearTimeout(timer)
  }
}

/** A port that was free a moment ago (bind port 0, read it, close). */
export async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1')
  await once(srv, 'listening')
  const port = (srv.address() as { port: number }).port
  await new Promise((r) => srv.close(r))
  return port
}
