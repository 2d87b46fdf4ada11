/**
 * Baseline for the credential endpoint: a bare Fastify route returning a constant shaped like
 * `GET /api/client/websocket`'s answer. Usage: bare-fastify.ts <port>
 */
import Fastify from 'fastify'
import { targetPort } from './common.js'

const port = targetPort()
const app = Fastify({ logger: false })
const body = { data: { token: 'x'.repeat(200), socket: `ws://127.0.0.1:${port}/ws` } }
app.get('/health', async () => 'ok')
app.get('/api/client/websocket', async () => body)
await app.listen({ port, host: '127.0.0.1' })
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)))
