/**
 * Shared bits of the baseline target servers: the port from argv, the parent watchdog, a tiny
 * JSON body reader for the `POST /publish` endpoint, and the publication shape it accepts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { watchParent } from '../lib/proc.js'

export interface PublishBody {
  device_id: number
  value: number
  ts: string
}

export function targetPort(): number {
  watchParent()
  const port = Number(process.argv[2])
  if (!port) throw new Error('usage: <target>.ts <port>')
  return port
}

/** Reads a small JSON body; answers 400 itself and resolves null when it is not JSON. */
export function readJson<T>(req: IncomingMessage, res: ServerResponse): Promise<T | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T)
      } catch {
        res.writeHead(400).end()
        resolve(null)
      }
    })
  })
}

export function health(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method === 'GET' && req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
    return true
  }
  return false
}
