/**
 * `packages/client` can be published: `npm pack` (which builds it first, `prepack`) yields a
 * tarball whose `exports` and `types` point at files inside it, with the README, and the packed
 * ESM entry loads in Node and exports the client (and the handshake error type) without any
 * dependency of its own.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'

// The package's own folder, not the test mirror's (npm test runs a mirror of links, and npm pack
// leaves links out): the mirror's package.json links to the real one.
const CLIENT = dirname(realpathSync(fileURLToPath(new URL('../../packages/client/package.json', import.meta.url))))
const run = promisify(execFile)

t.test('npm pack of @wirehub/client', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'wirehub-pack-'))
  t.teardown(() => rmSync(out, { recursive: true, force: true }))
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const { stdout } = await run(npm, ['pack', '--json', '--pack-destination', out], { cwd: CLIENT })
  const [info] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>
  const files = new Set(info!.files.map((f) => f.path))
  for (const f of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts']) t.ok(files.has(f), `the tarball has ${f}`)
  t.notOk([...files].some((f) => f.startsWith('test') || f.includes('node_modules')), 'nothing but the package')

  await run('tar', ['-xzf', join(out, info!.filename), '-C', out])
  const root = join(out, 'package')
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    exports: Record<string, { types: string; import: string }>; types: string; dependencies?: Record<string, string>; type: string
  }
  t.equal(pkg.type, 'module')
  t.notOk(pkg.dependencies && Object.keys(pkg.dependencies).length, 'no runtime dependencies')
  for (const target of [pkg.exports['.']!.import, pkg.exports['.']!.types, pkg.types]) t.ok(existsSync(join(root, target)), `${target} exists in the package`)
  const mod = (await import(pathToFileURL(join(root, pkg.exports['.']!.import)).href)) as Record<string, unknown>
  for (const name of ['WirehubClient', 'HandshakeRefusedError', 'CLOSE', 'ChannelsSocket', 'ConsoleSocket']) t.type(mod[name], name === 'CLOSE' ? 'object' : 'function', `exports ${name}`)
  t.match(readFileSync(join(root, pkg.types), 'utf8'), /WirehubClient/, 'the declarations name the client')
})
