/**
 * Pterodactyl client libraries (nodeactyl) send `Content-Type: application/json` with no body on
 * DELETE and POST actions that take none: deleting an API key, suspending and deleting a server.
 * Those succeed as on Pterodactyl; a route that does take a body still refuses the missing one
 * with a 400. Written as raw HTTP/1.1 on a socket, byte for byte as such a client
 * sends it (Content-Length: 0), so no HTTP library fills anything in.
 */
import { connect } from 'node:net'
import t from 'tap'
import { build } from '../helper.js'
import { DEMO_SERVER_SCRIPT } from '../../src/modules/servers/servers.plugin.js'
import { createUser } from '../channels/support.js'

interface RawResponse {
  status: number
  body: string
}

/** One request on a fresh socket; resolves with the status line's code and the body. */
function raw(url: string, method: string, path: string, key: string, body = ''): Promise<RawResponse> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname)
    let data = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => (data += chunk))
    socket.on('error', reject)
    socket.on('end', () => {
      const [head = '', ...rest] = data.split('\r\n\r\n')
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), body: rest.join('\r\n\r\n') })
    })
    socket.write(
      `${method} ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${key}\r\n` +
        `Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    )
  })
}

t.test('Content-Type: application/json with no body is accepted where the route takes none', async (t) => {
  const ta = await build(t, { listen: true, env: { DEMO_SERVER: 'false' } })
  const user = await createUser(ta)
  const admin = await ta.app.prisma.user.findFirstOrThrow({ where: { rootAdmin: true } })

  const created = await ta.app.inject({
    method: 'POST',
    url: '/api/client/account/api-keys',
    headers: { authorization: `Bearer ${user.key}` },
    payload: { description: 'to delete' },
  })
  const identifier = created.json().attributes.identifier as string
  const del = await raw(ta.url, 'DELETE', `/api/client/account/api-keys/${identifier}`, user.key)
  t.equal(del.status, 204, 'DELETE an API key: 204')
  t.ok((await ta.app.prisma.apiKey.findUniqueOrThrow({ where: { identifier } })).revokedAt, 'the key is revoked')

  const server = await ta.app.inject({
    method: 'POST',
    url: '/api/application/servers',
    headers: { authorization: `Bearer ${ta.adminKey}` },
    payload: { name: 'to suspend', user: admin.id, command: process.execPath, args: [DEMO_SERVER_SCRIPT] },
  })
  const id = server.json().attributes.id as number
  const suspend = await raw(ta.url, 'POST', `/api/application/servers/${id}/suspend`, ta.adminKey)
  t.equal(suspend.status, 204, 'POST suspend: 204')
  t.equal((await ta.app.prisma.server.findUniqueOrThrow({ where: { id } })).suspended, true, 'the server is suspended')
  const remove = await raw(ta.url, 'DELETE', `/api/application/servers/${id}`, ta.adminKey)
  t.equal(remove.status, 204, 'DELETE a server: 204')
  t.equal(await ta.app.prisma.server.findUnique({ where: { id } }), null, 'the server is gone')

  const missing = await raw(ta.url, 'POST', '/api/client/account/api-keys', user.key)
  t.equal(missing.status, 400, 'a route that takes a body still refuses a missing one')
  t.match(JSON.parse(missing.body), { errors: [{ detail: /empty/i }] }, 'saying the body is empty')
  const broken = await raw(ta.url, 'POST', '/api/client/account/api-keys', user.key, '{"description":')
  t.equal(broken.status, 400, 'malformed JSON is still a 400')
  const poisoned = await raw(ta.url, 'POST', '/api/client/account/api-keys', user.key, '{"description":"x","__proto__":{"a":1}}')
  t.equal(poisoned.status, 400, 'prototype poisoning is still refused')
})
