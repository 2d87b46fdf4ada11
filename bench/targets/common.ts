/**
 * Shared bits of the baseline target servers: the port from argv, the parent watchdog, a tiny
 * JSON body reader for the `POST /publish` endpoint, and the publication shape it accepts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { watchParent } from '../lib/proc.js'

/** One value, or a batch (`values`, one message each, in order). */
export interface PublishBody {
  device_id: number
  value?: number
  values?: number[]
  ts: string
}

/** The values of a publication, in order. */
export const valuesOf = (b: PublishBody): number[] => b.values ?? (typeof b.value === 'number' ? [b.value] : [])

/** Device ids of a subscribe message: one or several (`device_id: [..]`, the wide scenario). */
export function deviceIdsOf(msg: { device_id?: unknown }): number[] {
  const d = msg.device_id
  if (typeof d === 'number') return [d]
  return Array.isArray(d) ? d.filter((x): x is number => typeof x === 'number') : []
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
