/**
 * Start-up problems an operator can fix, through real processes: each is one line on stderr
 * without a stack, saying what is wrong and which setting to change, and a failed start creates
 * nothing. A taken port (named as PORT; the administrator is not created, so the next start still
 * shows the credentials); a data folder under a file, under a read-only parent, or on a full disk.
 * PostgreSQL refusals and the wait for it: postgres-wait.test.ts.
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import pg from 'pg'
import { freshDatabase } from '../helper.js'
import { launch, oneLine, workspace } from './process-support.js'

const SECRET = 'startup-errors-secret-startup-errors-0123'

t.test('a taken port: one line naming PORT, and the administrator is not created', async (t) => {
  const root = workspace(t, 'port-taken')
  const databaseUrl = await freshDatabase(t)
  const blocker: Server = createServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
  t.teardown(() => blocker.close())
  const port = (blocker.address() as { port: number }).port
  const p = launch(t, { DATA_DIR: join(root, 'data'), PORT: String(port), DATABASE_URL: databaseUrl, SOCKET_TOKEN_SECRET: SECRET }, root)
  const { code } = await p.exited
  t.not(code, 0, `exits non-zero (${code})`)
  oneLine(t, p.stderr(), new RegExp(`^wirehub: port ${port} on 127\\.0\\.0\\.1 is already in use .*set PORT to a free port$`))
  t.notOk(p.stdout().includes('administrator created'), 'no credentials printed')
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  t.teardown(() => client.end())
  const { rows } = await client.query<{ n: string }>('select count(*) as n from users')
  t.equal(Number(rows[0]?.n), 0, 'no administrator was created: the next start will create it and show its credentials')
})

t.test('a data folder that cannot be created or written: what is wrong, in one line', async (t) => {
  const root = workspace(t, 'data-dir')
  writeFileSync(join(root, 'a-file'), 'not a folder')
  const underFile = launch(t, { DATA_DIR: join(root, 'a-file', 'data'), PORT: '0' }, root)
  t.not((await underFile.exited).code, 0)
  oneLine(t, underFile.stderr(), /^wirehub: the data folder .*a-file\/data \(DATA_DIR\) cannot be created: a path component is a file, not a folder/)

  // A read-only parent and a full disk need a mount of their own (root here and in CI).
  const canMount = process.getuid?.() === 0
  t.test('under a read-only parent', { skip: canMount ? false : 'needs root to mount a read-only tmpfs' }, async (t) => {
    const mnt = join(root, 'ro')
    mkdirSync(mnt)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,ro', 'tmpfs', mnt])
    t.teardown(() => void execFileSync('umount', [mnt]))
    const p = launch(t, { DATA_DIR: join(mnt, 'data'), PORT: '0' }, root)
    t.not((await p.exited).code, 0)
    oneLine(t, p.stderr(), /^wirehub: the data folder .*ro\/data \(DATA_DIR\) cannot be created: the file system is read-only \(in .*ro\)/)
  })
  t.test('on a full disk', { skip: canMount ? false : 'needs root to mount a small tmpfs' }, async (t) => {
    const mnt = join(root, 'tiny')
    mkdirSync(mnt)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt])
    t.teardown(() => void execFileSync('umount', [mnt]))
    const p = launch(t, { DATA_DIR: join(mnt, 'data'), PORT: '0' }, root)
    t.not((await p.exited).code, 0)
    oneLine(t, p.stderr(), /^wirehub: the embedded database in .*tiny\/data \(DATA_DIR\) cannot be written: no space left on the device/)
  })
})
