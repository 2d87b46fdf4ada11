/**
 * An existing Pterodactyl client library, unchanged, against wirehub: PteroJS
 * (`@devnote-dev/pterojs`, a devDependency) pointed at wirehub's URL with a wirehub client key
 * lists the user's servers, opens the console through its websocket `Shard` (credential endpoint
 * → socket → `auth`), refreshes its token on `token expiring` on the same socket, starts the demo
 * server, reads console output through "Done", sends commands, reads logs and stats, and changes
 * the power state over the socket and over the Client API.
 *
 * PteroJS sends no Origin unless `client.ws.useOrigin` is set, so the server runs with
 * ALLOWED_ORIGINS='*' (a missing Origin is then accepted). SOCKET_TOKEN_TTL=62 makes wirehub send
 * `token expiring` ~31 s after each auth (it warns at min(60 s, TTL/2) left).
 */
import t from 'tap'
import { EventEmitter } from 'node:events'
// PteroJS 2.2.2's package.json "exports" has no "types" condition, so NodeNext resolution cannot
// find its dist/index.d.ts: the package is imported as it is and typed from that file.
// @ts-expect-error TS7016 (see above)
import * as untypedPteroJS from '@devnote-dev/pterojs'
import type * as PteroJS from '../../node_modules/@devnote-dev/pterojs/dist/index.js'
import { bearer, build } from '../helper.js'
import { DEMO_SERVER_SCRIPT } from '../../src/modules/servers/servers.plugin.js'

const { PteroClient } = untypedPteroJS as typeof PteroJS

interface Seen {
  event: string
  arg: any
}

/** Records the library's own events and lets the test wait for the next matching one. */
class Recorder {
  readonly seen: Seen[] = []
  private cursor = 0
  private readonly bell = new EventEmitter()

  constructor(emitter: EventEmitter, events: string[]) {
    for (const event of events) {
      emitter.on(event, (arg?: unknown) => {
        this.seen.push({ event, arg })
        this.bell.emit('ring')
      })
    }
  }

  /** The next recorded event (after the previous match) with this name and predicate. */
  next(event: string, pred: (arg: any) => boolean = () => true, timeoutMs = 10_000): Promise<any> {
    return new Promise((resolve, reject) => {
      const check = () => {
        while (this.cursor < this.seen.length) {
          const s = this.seen[this.cursor++]!
          if (s.event === event && pred(s.arg)) {
            done()
            resolve(s.arg)
            return
          }
        }
      }
      const timer = setTimeout(() => {
        done()
        const tail = this.seen.slice(-20).map((s) => `${s.event}: ${String(typeof s.arg === 'object' ? JSON.stringify(s.arg) : s.arg).slice(0, 80)}`)
        reject(new Error(`timed out waiting for ${event}; last events: ${JSON.stringify(tail)}`))
      }, timeoutMs)
      const done = () => {
        clearTimeout(timer)
        this.bell.off('ring', check)
      }
      this.bell.on('ring', check)
      check()
    })
  }

  count(event: string, pred: (arg: any) => boolean = () => true): number {
    return this.seen.filter((s) => s.event === event && pred(s.arg)).length
  }
}

t.test('PteroJS works against wirehub unchanged', async (t) => {
  const { app, url, adminKey } = await build(t, {
    listen: true,
    env: { ALLOWED_ORIGINS: '*', SOCKET_TOKEN_TTL: '62', STATS_INTERVAL_MS: '200', STOP_TIMEOUT: '5' },
  })
  const created = await app.inject({
    method: 'POST',
    url: '/api/application/users',
    headers: bearer(adminKey),
    payload: { email: 'ptero@example.test', password: 'a long enough password', root_admin: true, with_client_key: true },
  })
  t.equal(created.statusCode, 201)
  const user = created.json()
  const clientKey: string = user.meta.api_key
  t.match(clientKey, /^whc_/)
  const made = await app.inject({
    method: 'POST',
    url: '/api/application/servers',
    headers: bearer(adminKey),
    payload: {
      name: 'ptero demo',
      user: user.attributes.id,
      command: process.execPath,
      args: [DEMO_SERVER_SCRIPT],
      done_pattern: 'Done',
      environment: { DEMO_BOOT_MS: '50', DEMO_TICK_MS: '0' },
    },
  })
  t.equal(made.statusCode, 201)
  const defined = made.json().attributes as { uuid: string; identifier: string }

  // --- REST: the library's own client, account and server list
  const client = new PteroClient(url, clientKey)
  const http = new Recorder(client.requests, ['debug'])
  await client.connect()
  t.equal(client.account.email, 'ptero@example.test', 'account fetched')
  const servers = await client.servers.fetch({ force: true })
  t.same([...servers.values()].map((s) => s.identifier), [defined.identifier], "the user's servers")
  const server = await client.servers.fetch(defined.identifier, { force: true })
  t.equal(server.uuid, defined.uuid)
  t.equal(server.name, 'ptero demo')
  t.equal(server.suspended, false)
  // (PteroJS reads `is_owner`, which Pterodactyl never sends: the panel's field is
  // `server_owner`, as wirehub sends it, so `isOwner` stays undefined on a real panel too.)

  // --- the console through the library's websocket shard
  const shard: PteroJS.Shard = client.addSocketServer(server.identifier)
  const ev = new Recorder(shard, ['debug', 'error', 'serverConnect', 'serverDisconnect', 'authSuccess', 'statusUpdate', 'serverOutput', 'statsUpdate', 'daemonMessage'])
  const errors: string[] = []
  shard.on('error', (m) => errors.push(m))
  t.teardown(() => client.disconnect())
  const credentialRequests = () => http.count('debug', (m: string) => m === `[HTTP] requesting: GET /servers/${server.identifier}/websocket`)

  // The refresh happens in the background (~31 s after auth): note the `auth success` that follows it.
  const refreshed = new Promise<void>((resolve) => {
    shard.on('debug', (m) => {
      if (m.endsWith('refreshing token')) shard.once('authSuccess', resolve)
    })
  })

  await shard.connect()
  await ev.next('serverConnect')
  await ev.next('authSuccess')
  t.equal(await ev.next('statusUpdate'), 'offline')
  const offline = await ev.next('statsUpdate')
  t.equal(offline.state, 'offline', 'one stats after auth of an offline server')

  t.equal(await shard.request('setState', 'start'), 'starting', 'set state start → status starting')
  const done = await ev.next('serverOutput', (line: string) => line.includes('Done'))
  t.match(done, /Done \(\d+\.\d{3}s\)! For help, type "help"/)
  await ev.next('statusUpdate', (s: string) => s === 'running')

  await shard.request('sendCommand', 'say hello')
  t.match(await ev.next('serverOutput', (line: string) => line.includes('[Server] hello')), /\[Server thread\/INFO\]: \[Server\] hello$/)
  await shard.request('sendCommand', 'help')
  await ev.next('serverOutput', (line: string) => line.includes('Available commands: help, list, say <text>, stop'))

  // (PteroJS types `sendLogs`/`sendStats` as Promise<void>; they resolve with the first line / the stats.)
  const firstLogLine = (await shard.request('sendLogs')) as unknown as string
  t.match(firstLogLine, /Starting minecraft server/, '`send logs` replays the history from the start')
  await ev.next('serverOutput', (line: string) => line.includes('Done ('))

  const stats = (await shard.request('sendStats')) as unknown as Record<string, any>
  t.match(stats, { state: 'running', memoryBytes: Number, memoryLimitBytes: Number, cpuAbsolute: Number, uptime: Number, diskBytes: Number })
  t.ok(stats.memoryBytes > 0, 'memory of the process tree')
  t.match(stats.network, { rxBytes: Number, txBytes: Number }, 'nested keys camel-cased by the library')
  await ev.next('statsUpdate', (s: any) => s.state === 'running') // periodic stats keep coming

  // --- token refresh: `token expiring` → the library fetches a new credential and re-auths on
  // the same socket (no new connection), and streaming goes on.
  await refreshed
  t.equal(credentialRequests(), 2, 'a second credential was fetched for the refresh')
  t.equal(ev.count('serverConnect'), 1, 'refreshed on the same socket')
  t.equal(ev.count('serverDisconnect'), 0)
  await shard.request('sendCommand', 'say after refresh')
  await ev.next('serverOutput', (line: string) => line.includes('[Server] after refresh'))

  // --- the Client API through the library: command, resources, power
  await server.sendCommand('list')
  await ev.next('serverOutput', (line: string) => line.includes('players online: Steve, Alex'))
  const resources = await server.fetchResources()
  t.equal(resources.currentState, 'running')
  t.equal(resources.isSuspended, false)

  t.equal(await shard.request('setState', 'stop'), 'stopping', 'set state stop → status stopping')
  await ev.next('statusUpdate', (s: string) => s === 'offline')

  await server.setPowerState('start')
  await ev.next('statusUpdate', (s: string) => s === 'running')
  await server.setPowerState('kill')
  await ev.next('statusUpdate', (s: string) => s === 'offline')

  // Should the library refresh faster than Wings' auth limiter (1 per 5 s, burst 2) allows,
  // wirehub answers `throttled`, an event PteroJS does not know
  // (it emits an "unknown event" error). Anything else would be an incompatibility.
  t.comment(`library errors: ${JSON.stringify(errors)}`)
  t.same(errors.filter((e) => e !== "received unknown event 'throttled'"), [], 'no error from the library')

  client.removeSocketServer(server.identifier)
  await ev.next('serverDisconnect')
})
