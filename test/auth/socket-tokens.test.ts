/**
 * Socket tokens: short-lived HS256 JWTs with Pterodactyl's claims. The verifier pins HS256,
 * issuer, audience and scope, and refuses expired, not-yet-valid, wrongly signed, `alg: none`,
 * tampered, and other-algorithm tokens. Hostile tokens are crafted by hand.
 */
import t from 'tap'
import { createHmac, generateKeyPairSync, createSign } from 'node:crypto'
import { build } from '../helper.js'

const SECRET = 'test-secret-test-secret-test-secret-0123456789' // test/helper.ts's SOCKET_TOKEN_SECRET
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')

function hs(alg: 'HS256' | 'HS384' | 'HS512', payload: Record<string, unknown>, secret = SECRET): string {
  const head = `${b64({ alg, typ: 'JWT' })}.${b64(payload)}`
  const h = createHmac(({ HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' } as const)[alg], secret).update(head).digest('base64url')
  return `${head}.${h}`
}

t.test('socket tokens', async (t) => {
  const { app } = await build(t)
  const tokens = app.socketTokens
  const now = Math.floor(Date.now() / 1000)
  const claims = (over: Record<string, unknown> = {}) => ({
    iss: 'wirehub', aud: 'wirehub-sockets', jti: 'b6d1f8e2-3b5a-4c1e-9d7f-0a1b2c3d4e5f',
    iat: now, nbf: now, exp: now + 600,
    user_uuid: '0e4d7c3a-1111-4222-8333-944455556666', user_id: 7,
    permissions: ['control.console'], scope: 'console', cred: 'k:1', server_uuid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    ...over,
  })

  t.test('a signed token verifies with Pterodactyl claims', async (t) => {
    const token = tokens.sign({ userUuid: 'u-1', userId: 1, permissions: ['*'], scope: 'console', cred: 'k:9', serverUuid: 's-1' })
    const [head] = token.split('.')
    t.same(JSON.parse(Buffer.from(head!, 'base64url').toString()), { alg: 'HS256', typ: 'JWT' })
    const res = tokens.verify(token, 'console')
    t.ok(res.ok)
    if (!res.ok) return
    for (const c of ['iss', 'aud', 'jti', 'iat', 'nbf', 'exp', 'user_uuid', 'permissions', 'scope', 'server_uuid']) t.ok(c in res.claims, c)
    t.equal(res.claims.iss, 'wirehub')
    t.equal(res.claims.aud, 'wirehub-sockets')
    t.equal(res.claims.exp - res.claims.iat, 600, 'lifetime is SOCKET_TOKEN_TTL')
    t.equal(res.claims.cred, 'k:9')
    t.same(res.claims.permissions, ['*'])
    const ch = tokens.sign({ userUuid: 'u-1', userId: 1, permissions: [], scope: 'channels', cred: 's:3' })
    const chRes = tokens.verify(ch, 'channels')
    t.ok(chRes.ok, 'channels scope')
    t.notOk(chRes.ok && 'server_uuid' in chRes.claims, 'no server_uuid on channel tokens')
    t.not(tokens.sign({ userUuid: 'u', userId: 1, permissions: [], scope: 'console', cred: 'k:1' }),
      tokens.sign({ userUuid: 'u', userId: 1, permissions: [], scope: 'console', cred: 'k:1' }), 'unique jti per token')
    t.ok(tokens.verify(hs('HS256', claims()), 'console').ok, 'a hand-made HS256 token with the right secret verifies (the crafting below is sound)')
  })

  const refused: Array<[string, string, string]> = [
    ['expired', hs('HS256', claims({ iat: now - 1200, nbf: now - 1200, exp: now - 600 })), 'token_expired'],
    ['not yet valid', hs('HS256', claims({ nbf: now + 300 })), 'not_yet_valid'],
    ['wrong audience', hs('HS256', claims({ aud: 'someone-else' })), 'invalid_token'],
    ['wrong issuer', hs('HS256', claims({ iss: 'evil' })), 'invalid_token'],
    ['wrong scope', hs('HS256', claims({ scope: 'channels' })), 'wrong_scope'],
    ['wrong key', hs('HS256', claims(), 'another-secret-another-secret-another-secret'), 'invalid_token'],
    ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`, 'invalid_token'],
    ['alg none, upper case', `${b64({ alg: 'NONE', typ: 'JWT' })}.${b64(claims())}.`, 'invalid_token'],
    ['HS512 header with the right secret', hs('HS512', claims()), 'invalid_token'],
    ['HS384 header with the right secret', hs('HS384', claims()), 'invalid_token'],
    ['missing jti', hs('HS256', claims({ jti: undefined })), 'invalid_token'],
    ['missing exp', hs('HS256', claims({ exp: undefined })), 'invalid_token'],
    ['permissions not an array', hs('HS256', claims({ permissions: 'all' })), 'invalid_token'],
    ['missing cred', hs('HS256', claims({ cred: undefined })), 'invalid_token'],
    ['garbage', 'not.a.jwt', 'invalid_token'],
    ['empty', '', 'invalid_token'],
    ['huge', 'a'.repeat(5000), 'invalid_token'],
  ]
  for (const [name, token, reason] of refused) {
    t.test(name, async (t) => {
      t.same(tokens.verify(token, 'console'), { ok: false, reason })
    })
  }

  t.test('tampered payload or signature', async (t) => {
    const good = tokens.sign({ userUuid: 'u-1', userId: 1, permissions: ['control.console'], scope: 'console', cred: 'k:1', serverUuid: 's-1' })
    const [h, p, s] = good.split('.') as [string, string, string]
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString())
    const escalated = `${h}.${b64({ ...payload, permissions: ['*'] })}.${s}`
    t.same(tokens.verify(escalated, 'console'), { ok: false, reason: 'invalid_token' }, 'payload changed, signature kept')
    const otherServer = `${h}.${b64({ ...payload, server_uuid: 's-2' })}.${s}`
    t.same(tokens.verify(otherServer, 'console'), { ok: false, reason: 'invalid_token' }, 'server changed')
    const flipped = `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}`
    t.same(tokens.verify(flipped, 'console'), { ok: false, reason: 'invalid_token' }, 'signature changed')
    t.same(tokens.verify(`${h}.${p}.`, 'console'), { ok: false, reason: 'invalid_token' }, 'signature stripped')
    t.same(tokens.verify(`${b64({ alg: 'none', typ: 'JWT' })}.${p}.`, 'console'), { ok: false, reason: 'invalid_token' }, 'header swapped to none')
  })

  t.test('RS256 token refused', async (t) => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const head = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims())}`
    const sig = createSign('RSA-SHA256').update(head).sign(privateKey).toString('base64url')
    t.same(tokens.verify(`${head}.${sig}`, 'console'), { ok: false, reason: 'invalid_token' })
  })

  t.test('app.jwt itself refuses the same tokens', async (t) => {
    t.throws(() => app.jwt.verify(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`), 'alg none')
    t.throws(() => app.jwt.verify(hs('HS512', claims())), 'HS512')
    t.throws(() => app.jwt.verify(hs('HS256', claims({ aud: 'x' }))), 'audience')
    t.throws(() => app.jwt.verify(hs('HS256', claims({ iss: 'x' }))), 'issuer')
    t.throws(() => app.jwt.verify(hs('HS256', claims({ exp: now - 10 }))), 'expired')
    t.throws(() => app.jwt.verify(hs('HS256', claims(), 'x'.repeat(40))), 'wrong key')
    t.ok(app.jwt.verify(hs('HS256', claims())), 'the right token')
    const decoded = app.jwt.decode<{ alg?: string }>(app.jwt.sign({ a: 1 }), { complete: true }) as unknown as { header: { alg: string } }
    t.equal(decoded.header.alg, 'HS256', 'app.jwt signs HS256')
  })
})
