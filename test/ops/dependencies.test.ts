/**
 * Runtime dependencies are exactly what the compiled server imports: every package a file under
 * src/ imports at run time (type-only imports vanish at compile time) is in `dependencies`, every
 * entry of `dependencies` is imported by src/, and the build tools (compiler, bundler, Prisma CLI,
 * the dashboard's libraries, which esbuild bundles into web/dist) are development dependencies.
 * `npm ci --omit=dev --omit=optional` (the Dockerfile's runtime install) therefore has what runs.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
  scripts: Record<string, string>
}

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name), ext) : ext.test(e.name) ? [join(dir, e.name)] : [],
  )
}

/** Bare package names a file imports at run time (not `import type` / `export type`). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const found: string[] = []
  const statements = /^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm
  for (const m of text.matchAll(statements)) {
    if (m[2]) continue // type-only
    const spec = m[3] ?? m[4] ?? m[5]
    if (!spec || spec.startsWith('.') || spec.startsWith('node:') || builtinModules.includes(spec)) continue
    const parts = spec.split('/')
    found.push(spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!)
  }
  return found
}

const serverImports = new Set(files(join(ROOT, 'src'), /\.(ts|mjs)$/).flatMap(runtimeImports))

t.test('every package the server imports at run time is a runtime dependency', async (t) => {
  for (const name of serverImports) t.ok(name in pkg.dependencies, `${name} is in dependencies`)
})

t.test('every runtime dependency is imported by the server', async (t) => {
  for (const name of Object.keys(pkg.dependencies)) t.ok(serverImports.has(name), `${name} is imported by src/`)
})

t.test('build tools and bundled dashboard libraries are development dependencies', async (t) => {
  for (const name of ['prisma', 'tsx', 'esbuild', 'typescript', 'pino-pretty', '@xterm/xterm', '@xterm/addon-fit', 'uplot']) {
    t.notOk(name in pkg.dependencies, `${name} is not a runtime dependency`)
    t.ok(name in pkg.devDependencies, `${name} is a development dependency`)
  }
  const dashboard = new Set(files(join(ROOT, 'web', 'src'), /\.ts$/).flatMap(runtimeImports))
  for (const name of dashboard) t.ok(name in pkg.devDependencies, `the dashboard's ${name} is bundled at build time (a development dependency)`)
})

t.test('npm start runs the compiled server, built first if needed', async (t) => {
  t.equal(pkg.scripts.start, 'node dist/server.js')
  t.match(pkg.scripts.prestart, /scripts\/build\.mjs --if-needed/)
  t.match(pkg.scripts.build, /scripts\/build\.mjs/)
  t.match(pkg.scripts.dev, /tsx/)
})
