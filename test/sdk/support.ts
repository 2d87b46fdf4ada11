/**
 * Helpers for the SDK's tests against a real wirehub: a user with a client key, an SDK client
 * in Node (the `ws` package injected), a free fixed port for restart tests, and `next()`, which
 * waits for the first matching SDK event (events, never sleeps).
 */
import WebSocket from 'ws'
import type { FastifyInstance } from 'fastify'
import { bearer, type TapLike } from '../helper.js'
import { ReconnectingSocket, WirehubClient, type WirehubClientOptions } from '../../packages/client/src/index.js'


/** A user created through the Application API with a first client key (`with_client_key`). */
export async function userWithKey(app: FastifyInstance, adminKey: string, email: string): Promise<{ id: number; uuid: string; key: string }> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/application/users',
    headers: bearer(adminKey),
    payload: { email, password: 'a sufficiently long password', with_client_key: true },
  })
  if (res.statusCode !== 201) throw new Error(`create user: ${res.statusCode} ${res.body}`)
  const body = res.json<{ attributes: { id: number; uuid: string }; meta: { api_key: string } }>()
  return { id: body.attributes.id, uuid: body.attributes.uuid, key: body.meta.api_key }
}

/** Counts the credential-endpoint requests the client makes (connects + refreshes). */
export function countingFetch() {
  const counts = new Map<string, number>()
  const fetchFn = (input: string, init?: RequestInit) => {
    const path = new URL(input).pathname
    counts.set(path, (counts.get(path) ?? 0) + 1)
    return fetch(input, init)
  }
  return { fetch: fetchFn, count: (path: string) => counts.get(path) ?? 0 }
}

/** An SDK client in Node, closed at teardown; quick backoff so reconnects happen promptly. */
export function sdkClient(t: TapLike, baseUrl: string, apiKey: string, extra: Partial<WirehubClientOptions> = {}): WirehubClient {
  const client = new WirehubClient({ baseUrl, apiKey, WebSocket, backoff: { baseMs: 50, capMs: 400 }, ...extra })
  t.teardown(() => client.close())
  return client
}

type EventsOf<S> = S extends ReconnectingSocket<infer E> ? E : never

/** The first `event` matching `pred` from an SDK socket. */
export function next<S extends ReconnectingSocket<any>, K extends keyof EventsOf<S> & string>(
  target: S,
  event: K,
  pred: (v: EventsOf<S>[K]) => boolean = () => true,
): Promise<EventsOf<S>[K]> {
  return new Promise((resolve) => {
    const on = target.on.bind(target) as (event: string, handler: (v: EventsOf<S>[K]) => void) => () => void
    const off = on(event, (v) => {
      if (!pred(v)) return
      off()
      resolve(v)
    })
  })
}
