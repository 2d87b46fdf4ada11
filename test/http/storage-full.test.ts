/**
 * The embedded database's disk fills up: writes that need new space answer 507 with Retry-After
 * and `meta.reason: "storage_full"` (not 500), /ready answers 503 with `storage: "full"`, reads
 * go on, the process stays up, and once space is freed /ready and writes recover. The full disk
 * is real: DATA_DIR is on a tmpfs of the test's own (mounting needs root) filled to ENOSPC.
 */
import { execFileSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { bearer, build } from '../helper.js'
import { createUser } from '../channels/support.js'

/** Writes 1 MiB blocks into `file` until the filesystem refuses (ENOSPC). */
function fill(file: string): string {
  const fd = openSync(file, 'w')
  const block = Buffer.alloc(1 << 20, 1)
  try {
    for (;;) writeSync(fd, block)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err)
  } finally {
    closeSync(fd)
  }
}

t.test('a full disk under the embedded database: 507 for writes, /ready says so, recovery after', async (t) => {
  const mnt = mkdtempSync(join(tmpdir(), 'wirehub-full-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=160m', 'tmpfs', mnt])
  t.teardown(() => {
    execFileSync('umount', ['-l', mnt])
    rmSync(mnt, { recursive: true, force: true })
  })
  const ta = await build(t, { embedded: true, env: { DATA_DIR: join(mnt, 'data'), DEMO_SERVER: 'false', RATE_LIMIT_MAX: '100000' } })
  const user = await createUser(ta)
  const bigDevice = (i: number) => {
    const metadata: Record<string, string> = {}
    // Random text does not compress: the row needs real new pages.
    for (let j = 0; j < 40; j++) metadata[`k${j}`] = Array.from({ length: 1000 }, () => Math.random().toString(36).slice(2, 22)).join('').slice(0, 20_000)
    return ta.app.inject({ method: 'POST', url: '/api/client/devices', headers: bearer(user.key), payload: { name: `big${i}`, metadata } })
  }
  t.equal((await bigDevice(0)).statusCode, 201, 'a large write while there is space')
  t.match((await ta.app.inject({ url: '/ready' })).json(), { checks: { storage: 'ok' } })

  const filler = join(mnt, 'filler')
  t.equal(fill(filler), 'ENOSPC', 'the filesystem is full')
  const refused = await bigDevice(1)
  t.equal(refused.statusCode, 507, 'a write that needs space: 507')
  t.equal(refused.headers['retry-after'], '60', 'Retry-After')
  t.match(refused.json(), { errors: [{ status: '507', meta: { reason: 'storage_full' } }] }, 'names the outage')
  const ready = await ta.app.inject({ url: '/ready' })
  t.equal(ready.statusCode, 503, '/ready: 503')
  t.match(ready.json(), { status: 'unavailable', checks: { database: 'ok', storage: 'full' } }, '/ready: storage full')
  const read = await ta.app.inject({ url: '/api/client/devices', headers: bearer(user.key) })
  t.equal(read.statusCode, 200, 'reads go on')
  t.equal(read.json().data.length, 1, 'the refused device was not stored')

  rmSync(filler)
  t.match((await ta.app.inject({ url: '/ready' })).json(), { status: 'ok', checks: { storage: 'ok' } }, '/ready recovers once space is freed')
  t.equal((await bigDevice(2)).statusCode, 201, 'writes work again')
})
