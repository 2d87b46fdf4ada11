/**
 * A game server cannot touch wirehub: inside the bubblewrap sandbox it cannot read the data
 * folder (database, socket-token secret, other servers' logs), another server's folder, wirehub's
 * environment or its process; it can write only its own folder; it runs as SERVERS_USER when
 * wirehub is root. `/ready` names the sandbox and the limits in use. Skipped nowhere: bwrap is
 * a Debian package `.ci/run` installs.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { setup } from './console-helpers.js'
import { WIREHUB_DIR } from '../../src/modules/servers/supervisor.js'

/** Each probe prints `PROBE <name> <ok|denied>`; the game ends after the last one. */
const probes = (dataDir: string, other: string) => `
probe() { if eval "$2" >/dev/null 2>&1; then echo "PROBE $1 ok"; else echo "PROBE $1 denied"; fi; }
probe read-secret 'cat ${dataDir}/socket-token.secret'
probe list-data 'ls ${dataDir}/logs'
probe read-other-server 'cat ${other}/world.txt'
probe write-own 'echo x > ./own.txt'
probe write-tmp 'echo x > /tmp/scratch'
probe write-system 'echo x > /etc/wirehub-probe'
probe write-code 'echo x > ${WIREHUB_DIR}/probe'
probe write-data 'echo x > ${dataDir}/probe'
probe see-wirehub 'test -e /proc/${process.pid}/environ && cat /proc/${process.pid}/environ'
probe env-secret 'env | grep -q SOCKET_TOKEN_SECRET'
echo "UID $(id -u)"
`

t.test('a sandboxed game cannot touch wirehub', async (t) => {
  const env = await setup(t)
  const ready = await env.app.inject({ method: 'GET', url: '/ready' })
  t.equal(ready.json().checks.sandbox, 'bwrap', '/ready names the sandbox')
  t.match(ready.json().checks.limits, /^cgroup v[12]$|^polling/, '/ready names how limits are enforced')

  const dataDir = env.config.DATA_DIR
  writeFileSync(join(dataDir, 'socket-token.secret'), 'not for games')
  const other = await env.server({ name: 'other' })
  const otherDir = join(dataDir, 'servers', other.uuid)
  mkdirSync(otherDir, { recursive: true })
  writeFileSync(join(otherDir, 'world.txt'), 'private world')

  const s = await env.server({ name: 'probe', command: '/bin/sh', args: ['-c', probes(dataDir, otherDir)], done_pattern: null })
  const { client } = await env.connect(s.uuid, env.admin.clientKey)
  client.send('set state', 'start')
  const uid = await client.line(/^UID \d+$/)
  const results = new Map(
    client.frames.filter((f) => f.event === 'console output' && f.args![0]!.startsWith('PROBE ')).map((f) => f.args![0]!.split(' ').slice(1) as [string, string]),
  )
  t.same(Object.fromEntries(results), {
    'read-secret': 'denied',
    'list-data': 'denied',
    'read-other-server': 'denied',
    'write-own': 'ok',
    'write-tmp': 'ok',
    'write-system': 'denied',
    'write-code': 'denied',
    'write-data': 'denied',
    'see-wirehub': 'denied',
    'env-secret': 'denied',
  })
  if (process.getuid?.() === 0) t.equal(uid.args![0], 'UID 65534', 'wirehub is root: the game runs as SERVERS_USER')
  await client.status('offline')
})

t.test('SERVERS_SANDBOX=off runs games unsandboxed and /ready says so', async (t) => {
  const env = await setup(t, { SERVERS_SANDBOX: 'off' })
  const ready = await env.app.inject({ method: 'GET', url: '/ready' })
  t.equal(ready.json().checks.sandbox, 'unavailable: disabled by SERVERS_SANDBOX=off')
})
