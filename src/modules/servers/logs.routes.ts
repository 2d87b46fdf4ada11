/**
 * Client API: a server's durable console log (`/api/client/servers/:server/logs`). Lines keep
 * their number (`seq`) across rotations and restarts, so a page is "the lines after N":
 * - without `after`: the newest `limit` lines; with `after`: the next `limit` lines after it;
 * - `q`: only lines containing the text (case-insensitive), searched from `after` (or the start);
 * - `download=true` (or `1`): the whole log (every kept file, oldest first) as `text/plain`.
 * Needs `websocket.connect`, the permission that shows the console (Wings' `send logs`).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { CLIENT_SECURITY, withErrors } from '../../lib/envelope.js'
import { BadGateway, Forbidden } from '../../lib/errors.js'
import { P, has } from './permissions.js'
import { ClientServerParams } from './servers.schemas.js'
import type { ServersService } from './servers.service.js'
import { UNAUTHORIZED } from './servers.routes.js'

const LogsQuery = Type.Object(
  {
    after: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Return the lines after this line number (seq); default: the newest lines' })),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Most lines in the page' }),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Only lines that contain this text (case-insensitive)' })),
    download: Type.Union([Type.Literal('true'), Type.Literal('false'), Type.Literal('1'), Type.Literal('0')], {
      default: 'false',
      description: 'true (or 1): the whole log as a text/plain attachment (other parameters ignored)',
    }),
  },
  { additionalProperties: false },
)

const LogLineSchema = Type.Object({
  seq: Type.Integer({ description: 'Line number, growing by one across restarts and rotations' }),
  time: Type.String({ format: 'date-time', description: 'When the line was written (second precision for game output)' }),
  line: Type.String({ description: 'The text, ANSI escapes included' }),
})

const LogsPage = Type.Object({
  object: Type.Literal('console_log'),
  data: Type.Array(LogLineSchema),
  meta: Type.Object({
    /** Pass as `after` for the next page; null when this page reached the newest line. */
    next_after: Type.Union([Type.Integer(), Type.Null()]),
    last_seq: Type.Integer({ description: 'Newest line number in the log (0: empty)' }),
  }),
})

export const logsRoutes: FastifyPluginAsyncTypebox<{ service: ServersService }> = async (app, { service }) => {
  app.get('/servers/:server/logs', {
    schema: {
      tags: ['client: servers'],
      summary: "The server's durable console log: pages by line number, search, download",
      security: CLIENT_SECURITY,
      params: ClientServerParams,
      querystring: LogsQuery,
      response: withErrors({ 200: LogsPage }),
    },
    handler: async (request, reply) => {
      const { row, access } = await service.resolveForClient(request.principal!.user, request.params.server, { allowSuspended: true })
      if (!has(access.permissions, P.WEBSOCKET_CONNECT)) throw new Forbidden(UNAUTHORIZED)
      const log = service.consoleLog(row.uuid)
      if (!log) throw new BadGateway(`The console log of this server is kept by the node that runs it (${row.node}).`)
      const q = request.query
      if (q.download === 'true' || q.download === '1') {
        reply.header('content-type', 'text/plain; charset=utf-8')
        reply.header('content-disposition', `attachment; filename="${row.uuidShort}-console.log"`)
        // A stream is not the JSON page the response schema types; Fastify sends streams as they are.
        return reply.send(log.download() as never)
      }
      const lastSeq = service.history(row.uuid, 1)[0]?.seq ?? (await log.lastSeq())
      const lines = q.after === undefined && !q.q ? await log.tail(q.limit) : await log.range(q.after ?? 0, q.limit, q.q)
      const end = lines.at(-1)?.seq
      return {
        object: 'console_log' as const,
        data: lines.map((l) => ({ seq: l.seq, time: new Date(l.ts).toISOString(), line: l.text })),
        meta: { next_after: end !== undefined && end < lastSeq && lines.length === q.limit ? end : null, last_seq: lastSeq },
      }
    },
  })
}
