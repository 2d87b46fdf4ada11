/**
 * What the real-process game-server tests do against a wirehub on a port: REST calls with a key,
 * a console socket (optionally resuming from a line number), the server's state, and ending the
 * games at teardown (they outlive wirehub by design).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { WebSocket } from 'ws'
import { ADMIN_API_KEY, ADMIN_EMAIL, ADMIN_PASSWORD, freshDatabase } from '../helper.js'
import { ConsoleClient } from './console-helpers.js'

/** A console frame that may carry its line number. */
export interface Seqd {
  event: string
  args?: string[]
  seq?: number
}

export function hostClient(t: { teardown(fn: () => unknown): void }, url: string) {
  const api = async (method: string, path: string, key: string, body?: unknown) => {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
    const text = await res.text()
    return { status: res.status, body: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text }
  }
  const connect = async (uuid: string, key: string, since?: number) => {
    const creds = (await api('GET', `/api/client/servers/${uuid}/websocket`, key)).body.data
    const client = new ConsoleClient(new WebSocket(creds.socket, { headers: { origin: url } }))
    await client.opened
    t.teardown(() => client.ws.terminate())
    client.ws.send(JSON.stringify({ event: 'auth', args: [creds.token], ...(since !== undefined ? { since } : {}) }))
    await client.next('auth success')
    return client
  }
  const state = async (uuid: string, key: string) => (await api('GET', `/api/client/servers/${uuid}/resources`, key)).body.attributes.current_state
  return { api, connect, state }
}

/** Kills every game of `uuids` (by the process group its holder recorded); gone ones are skipped. */
export function endGames(dataDir: string, uuids: string[]): void {
  for (const uuid of uuids) {
    try {
      process.kill(-Number(readFileSync(join(dataDir, 'holders', uuid, 'game.pid'), 'utf8')), 'SIGKILL')
    } catch {
      /* not running */
    }
  }
}

/** The environment of a wirehub process serving game servers from `dataDir` on `port`, on a fresh database. */
export async function hostEnv(t: { teardown(fn: () => unknown): void }, dataDir: string, port: number, secret: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return {
    DATABASE_URL: await freshDatabase(t),
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    ADMIN_API_KEY,
    SOCKET_TOKEN_SECRET: secret,
    STATS_INTERVAL_MS: '200',
    STOP_TIMEOUT: '5',
    ...extra,
  }
}
