/**
 * pino options: JSON with the request id on every request line; authorization headers, cookies,
 * passwords, tokens and keys redacted; URLs logged without their query string (tokens and keys
 * must never reach a log through a URL). Pretty output only when asked or on a terminal, and only
 * where pino-pretty is installed: it is a development dependency, so a production install logs
 * JSON even on a terminal.
 */
import { createRequire } from 'node:module'
import type { FastifyServerOptions, FastifyRequest } from 'fastify'
import type { Config } from '../config/config.schema.js'

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'req.headers["sec-websocket-protocol"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.secret',
  '*.api_key',
  '*.key',
  '*.authorization',
]

/** Strips the query string: it may carry tokens (socket URLs) or keys. */
export function sanitizeUrl(url: string): string {
  const q = url.indexOf('?')
  return q === -1 ? url : `${url.slice(0, q)}?[redacted]`
}

function prettyInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty')
    return true
  } catch {
    return false
  }
}

export function loggerOptions(cfg: Pick<Config, 'LOG_LEVEL' | 'LOG_PRETTY'>): FastifyServerOptions['logger'] {
  const pretty = (cfg.LOG_PRETTY ?? process.stdout.isTTY === true) && prettyInstalled()
  return {
    level: cfg.LOG_LEVEL,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      req(request: FastifyRequest) {
        return {
          method: request.method,
          url: sanitizeUrl(request.url),
          remoteAddress: request.ip,
        }
      },
      res(reply: { statusCode: number }) {
        return { statusCode: reply.statusCode }
      },
    },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  }
}

/**
 * Writes plain text to stdout in order with the log lines already written. pino's default
 * destination writes asynchronously, so a direct `process.stdout.write` can overtake lines logged
 * just before it; text written through the same stream cannot. pino keeps the stream under a
 * private symbol (pino itself is not a dependency of ours, fastify's is used), found here by its
 * description; any other logger set-up (a transport, a test stream) gets process.stdout.
 */
export function writeAfterLogs(log: object, text: string): void {
  const key = Object.getOwnPropertySymbols(Object.getPrototypeOf(log) ?? {}).concat(Object.getOwnPropertySymbols(log))
    .find((s) => s.description === 'pino.stream')
  const stream = key ? (log as Record<symbol, { fd?: number; write?: (s: string) => boolean }>)[key] : undefined
  if (stream?.fd === 1 && typeof stream.write === 'function') stream.write(text)
  else process.stdout.write(text)
}
