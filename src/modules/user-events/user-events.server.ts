/**
 * The extra listener of the user events socket (its original clients connect to
 * `ws://host:<websocket.port>`): a bare HTTP server whose upgrade requests at `/` (or
 * `/ws/users`) go through the same pre-upgrade check as the main port and are then handed to a
 * `ws` server in noServer mode. Refusals are answered with an HTTP status and an error envelope
 * before any websocket exists; plain HTTP requests get 426.
 */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import { WebSocketServer, type WebSocket } from 'ws'
import { pterodactylCode } from '../../lib/errors.js'
import { HubSocket } from '../realtime/hub-socket.js'
import type { UpgradeCheck, UserEventsMeta } from './user-events.socket.js'
import { USER_EVENTS_PATH } from './user-events.types.js'

export interface ExtraServerOptions {
  host: string
  /** 0 picks a free port (tests). */
  port: number
  check: UpgradeCheck
  onSocket: (ws: WebSocket, meta: UserEventsMeta, ip: string) => void
  log: FastifyBaseLogger
  maxPayload: number
  perMessageDeflate: boolean
}

export interface ExtraServer {
  /** The bound port. */
  readonly port: number
  /** Stops accepting, waits up to `graceMs` for open sockets (already sent 1001 by the hub), then drops them. */
  close(graceMs?: number): Promise<void>
}

const STATUS_TEXT: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 426: 'Upgrade Required', 500: 'Internal Server Error' }

function errorBody(status: number, detail: string): string {
  return JSON.stringify({ errors: [{ code: pterodactylCode(status), status: String(status), detail }], request_id: randomUUID() })
}

/** Answers an upgrade request with a plain HTTP error and closes the TCP connection. */
function refuse(socket: Duplex, status: number, detail: string): void {
  if (!socket.writable) return void socket.destroy()
  const body = errorBody(status, detail)
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
}

export async function startExtraServer(opts: ExtraServerOptions): Promise<ExtraServer> {
  const { log } = opts
  const sockets = new Set<WebSocket>()
  const wss = new WebSocketServer({ noServer: true, clientTracking: false, WebSocket: HubSocket, maxPayload: opts.maxPayload, perMessageDeflate: opts.perMessageDeflate })
  const server = createServer((req, res) => {
    res.writeHead(426, { 'content-type': 'application/json; charset=utf-8', connection: 'close', upgrade: 'websocket' })
    res.end(errorBody(426, 'This port only serves the user events websocket.'))
  })

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy())
    const path = (req.url ?? '/').split('?')[0]
    if (path !== '/' && path !== USER_EVENTS_PATH) return refuse(socket, 404, `No socket at ${path}; use / or ${USER_EVENTS_PATH}.`)
    const ip = req.socket.remoteAddress ?? ''
    opts.check(req.headers, ip, 'extra').then(
      (verdict) => {
        if (!verdict.ok) {
          log.warn({ origin: req.headers.origin ?? null, ip, reason: verdict.reason }, 'user events socket refused')
          return refuse(socket, verdict.status, verdict.detail)
        }
        wss.handleUpgrade(req, socket, head, (ws) => {
          sockets.add(ws)
          ws.once('close', () => sockets.delete(ws))
          opts.onSocket(ws, verdict.meta, ip)
        })
      },
      (err: unknown) => {
        log.error({ err }, 'user events upgrade check failed')
        refuse(socket, 500, 'An unexpected error was encountered while processing this request, please try again.')
      },
    )
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  server.on('error', (err) => log.error({ err }, 'user events listener error'))
  const address = server.address()
  const port = address && typeof address === 'object' ? address.port : opts.port

  return {
    port,
    async close(graceMs = 2000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      if (sockets.size > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, graceMs)
          timer.unref()
          const check = () => {
            if (sockets.size === 0) {
              clearTimeout(timer)
              resolve()
            }
          }
          for (const ws of sockets) ws.once('close', () => setImmediate(check))
        })
        for (const ws of sockets) ws.terminate()
      }
      server.closeAllConnections()
      wss.close()
      await closed
    },
  }
}
