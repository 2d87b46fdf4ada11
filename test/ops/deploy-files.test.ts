/**
 * The deployment files stay correct on a machine without a Docker engine: docker-compose.yml
 * passes dclint (current compose spec plus its best-practice rules), the Dockerfile passes
 * dockerfile-utils' validator and keeps its structural promises (multi-stage, Prisma client
 * generated at build time, non-root, health check, exec-form CMD so node receives SIGTERM), the
 * game servers run in a launcher container that a wirehub upgrade leaves alone (its own image
 * target with only the launcher's files, wirehub in its pid namespace, the sandbox's security
 * options on the launcher), and .env.example documents every configuration variable with its
 * real default.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { DockerfileParser, type Copy, type Instruction, type JSONInstruction } from 'dockerfile-ast'
import { validate } from 'dockerfile-utils'
import { parse as parseYaml } from 'yaml'
import { ConfigSchema } from '../../src/config/config.schema.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8')
const CONFIG_KEYS = Object.keys(ConfigSchema.properties)
const SCHEMA = ConfigSchema.properties as Record<string, { default?: unknown }>

// LSP DiagnosticSeverity: 1 = error, 2 = warning (3/4 are information/hint).
const SEVERITY_ERROR = 1
const SEVERITY_WARNING = 2

for (const file of ['docker-compose.yml', 'deploy/compose.scale.yml']) {
  t.test(`${file} passes dclint with no errors or warnings`, async (t) => {
    const bin = join(dirname(createRequire(import.meta.url).resolve('dclint/package.json')), 'bin', 'dclint.cjs')
    let stdout = ''
    let code = 0
    try {
      ;({ stdout } = await promisify(execFile)(process.execPath, [bin, '--formatter', 'json', '--color', 'false', file], { cwd: ROOT }))
    } catch (err) {
      const e = err as { code?: number; stdout?: string }
      code = e.code ?? 1
      stdout = e.stdout ?? ''
    }
    const report = JSON.parse(stdout) as { filePath: string; errorCount: number; warningCount: number; messages: unknown[] }[]
    t.equal(report.length, 1, 'dclint linted exactly one file')
    t.ok(report[0]?.filePath.endsWith(file))
    t.same(report[0]?.messages, [], 'no findings')
    t.equal(report[0]?.errorCount, 0)
    t.equal(report[0]?.warningCount, 0)
    t.equal(code, 0, 'dclint exits 0')
  })
}

t.test('docker-compose.yml wires wirehub to postgres and shuts down gracefully', async (t) => {
  type Service = {
    environment?: Record<string, unknown>
    depends_on?: Record<string, { condition: string }>
    stop_grace_period?: string
    healthcheck?: { test: string[] }
    profiles?: string[]
  }
  const compose = parseYaml(read('docker-compose.yml')) as { version?: unknown; services: Record<string, Service>; volumes: Record<string, unknown> }
  t.notOk('version' in compose, 'no obsolete version key')
  const app = compose.services.wirehub
  if (!app) return t.fail('no wirehub service')
  t.same(Object.keys(compose.services).sort(), ['launcher', 'postgres', 'redis', 'wirehub'])
  t.same(compose.services.redis?.profiles, ['scale'], 'redis only with --profile scale')

  const env = app.environment ?? {}
  for (const name of Object.keys(env)) t.ok(CONFIG_KEYS.includes(name), `${name} is a configuration variable`)
  t.equal(env.HOST, '0.0.0.0', 'listens on all container interfaces')
  t.match(String(env.DATABASE_URL), /^postgresql:\/\/[^@]+@postgres:5432\//, 'DATABASE_URL points at the postgres service')
  t.match(String(env.SOCKET_TOKEN_SECRET), /^\$\{SOCKET_TOKEN_SECRET:\?/, 'SOCKET_TOKEN_SECRET is required')
  t.equal(app.depends_on?.postgres?.condition, 'service_healthy')
  t.ok(app.healthcheck?.test.length, 'wirehub has a healthcheck')
  t.ok(compose.services.postgres?.healthcheck?.test.join(' ').includes('pg_isready'), 'postgres healthcheck uses pg_isready')

  const grace = /^(\d+)s$/.exec(app.stop_grace_period ?? '')
  const shutdownTimeout = SCHEMA.SHUTDOWN_TIMEOUT?.default as number
  t.ok(grace && Number(grace[1]) > shutdownTimeout, `stop_grace_period exceeds SHUTDOWN_TIMEOUT (${shutdownTimeout}s)`)
})

t.test('Dockerfile', async (t) => {
  const text = read('Dockerfile')

  t.test('dockerfile-utils reports no errors or warnings', async (t) => {
    const problems = validate(text).filter((d) => d.severity === SEVERITY_ERROR || d.severity === SEVERITY_WARNING)
    t.same(
      problems.map((d) => `line ${d.range.start.line + 1}: ${d.message}`),
      [],
    )
  })

  const df = DockerfileParser.parse(text)
  const instructions = df.getInstructions()
  const froms = df.getFROMs()
  const lastFrom = froms.at(-1)
  const lastFromLine = lastFrom?.getRange().start.line ?? 0
  const finalStage = instructions.filter((i) => i.getRange().start.line > lastFromLine)
  const buildStages = instructions.filter((i) => i.getRange().start.line < lastFromLine)
  const of = (list: Instruction[], keyword: string) => list.filter((i) => i.getKeyword() === keyword)
  const args = (i: Instruction | undefined) => i?.getArguments().map((a) => a.getValue()) ?? []
  const fromStage = (c: Instruction) => (c as Copy).getFlags().find((f) => f.getName() === 'from')?.getValue() ?? undefined

  t.test('is multi-stage', async (t) => {
    t.ok(froms.length >= 2, `${froms.length} FROM instructions`)
  })

  t.test('builds (Prisma client, dashboard, tsc) in a build stage and copies the output into the final stage', async (t) => {
    const runs = of(buildStages, 'RUN').map((i) => i.getArgumentsContent() ?? '')
    t.ok(runs.some((r) => /scripts\/build\.mjs|npm run build/.test(r)), 'a build-stage RUN runs the build (which generates the Prisma client)')
    const build = instructions.find((i) => i.getKeyword() === 'RUN' && /scripts\/build\.mjs|npm run build/.test(i.getArgumentsContent() ?? ''))
    const stage = froms.filter((f) => f.getRange().start.line < (build?.getRange().start.line ?? 0)).at(-1)?.getBuildStage()
    t.ok(
      of(finalStage, 'COPY').some((c) => stage && fromStage(c) === stage && args(c).includes('/app/dist')),
      'the final stage copies dist/ (the generated client compiled in) from the build stage',
    )
  })

  t.test('runs on a maintained Node LTS (24)', async (t) => {
    const image = /ARG NODE_IMAGE=(\S+)/.exec(text)?.[1] ?? ''
    t.match(image, /^node:24[.-]/, `NODE_IMAGE ${image}`)
    for (const from of froms) t.equal(from.getImageName(), '${NODE_IMAGE}', 'every stage uses NODE_IMAGE')
  })

  t.test('the runtime stage has the compiled output and production dependencies only', async (t) => {
    t.same(of(finalStage, 'RUN').map((i) => i.getArgumentsContent() ?? '').filter((r) => /\bnpm\b|\bnpx\b|tsc|esbuild|prisma/.test(r)), [], 'no install or build step in the runtime stage')
    const copied = of(finalStage, 'COPY').map((c) => ({ from: fromStage(c), sources: args(c).slice(0, -1) }))
    const stageOf = (name: string) => froms.find((f) => f.getBuildStage() === name)
    const modules = copied.find((c) => c.sources.some((s) => s.includes('node_modules')))
    t.ok(modules?.from, 'node_modules comes from a build stage')
    const depsStage = stageOf(modules?.from ?? '')
    const depsRuns = instructions
      .filter((i) => depsStage && i.getKeyword() === 'RUN' && i.getRange().start.line > depsStage.getRange().start.line)
      .filter((i) => i.getRange().start.line < (froms[froms.indexOf(depsStage!) + 1]?.getRange().start.line ?? Infinity))
      .map((i) => i.getArgumentsContent() ?? '')
    t.ok(depsRuns.some((r) => /npm ci\b.*--omit=dev.*--omit=optional|npm ci\b.*--omit=optional.*--omit=dev/.test(r)), 'that stage installs without dev and optional (Prisma CLI) packages')
    const sources = copied.flatMap((c) => c.sources)
    t.ok(sources.includes('/app/dist'), 'the compiled server')
    t.ok(sources.includes('/app/web/dist'), 'the dashboard built at build time')
    t.notOk(sources.some((s) => /(^|\/)src$|tsconfig|scripts/.test(s)), 'no TypeScript sources or build scripts')
  })

  t.test('runs as a non-root user', async (t) => {
    const user = args(of(finalStage, 'USER').at(-1))[0]
    t.ok(user, 'final stage has USER')
    t.notOk(/^(root|0)(:|$)/.test(user ?? 'root'), `USER ${user} is not root`)
  })

  t.test('has a HEALTHCHECK that probes the app', async (t) => {
    const hc = of(finalStage, 'HEALTHCHECK').at(-1)
    t.ok(hc, 'final stage has HEALTHCHECK')
    t.notMatch(hc?.getArgumentsContent() ?? '', /^NONE/i)
    t.match(hc?.getArgumentsContent() ?? '', /\/health/)
  })

  t.test('CMD is exec form and starts node directly', async (t) => {
    const cmd = of(finalStage, 'CMD').at(-1) as JSONInstruction | undefined
    t.ok(cmd, 'final stage has CMD')
    t.ok(cmd?.getOpeningBracket(), 'exec (JSON) form, so node is PID 1 and receives SIGTERM')
    const argv = cmd?.getJSONStrings().map((s) => s.getJSONValue()) ?? []
    t.same(argv, ['node', 'dist/server.js'], 'the compiled server, not TypeScript through a loader')
    t.same(args(of(finalStage, 'STOPSIGNAL').at(-1)), ['SIGTERM'])
  })

  t.test('final stage listens on all interfaces and keeps data in a volume', async (t) => {
    const envs = of(finalStage, 'ENV').map((i) => i.getArgumentsContent() ?? '').join(' ')
    t.match(envs, /\bHOST=0\.0\.0\.0\b/)
    t.match(envs, /\bDATA_DIR=\/data\b/)
    t.ok(of(finalStage, 'VOLUME').some((v) => (v.getArgumentsContent() ?? '').includes('/data')), 'VOLUME /data')
    t.ok(of(finalStage, 'EXPOSE').some((v) => args(v).includes('3000')), 'EXPOSE 3000')
  })

  t.test('copies only paths that exist and are not excluded by .dockerignore', async (t) => {
    const ignored = new Set(
      read('.dockerignore')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#') && !l.startsWith('!')),
    )
    for (const copy of of(instructions, 'COPY')) {
      if (fromStage(copy) !== undefined) continue
      for (const source of args(copy).slice(0, -1)) {
        t.ok(existsSync(join(ROOT, source)), `${source} exists`)
        t.notOk(ignored.has(source), `${source} is not in .dockerignore`)
      }
    }
  })
})

t.test('.dockerignore keeps secrets and host artefacts out of the build context', async (t) => {
  const lines = read('.dockerignore').split('\n').map((l) => l.trim())
  for (const entry of ['node_modules', '.env', '.env.*', 'data', 'src/generated', '.git']) t.ok(lines.includes(entry), `ignores ${entry}`)
  t.ok(lines.includes('!.env.example'), '.env.example may go in')
})

t.test('.env.example documents every configuration variable', async (t) => {
  // Variables read elsewhere than ConfigSchema: CONFIG_FILE (config loader), and the ones only
  // docker-compose.yml reads.
  const EXTRA = ['CONFIG_FILE', 'POSTGRES_DB', 'POSTGRES_USER', 'POSTGRES_PASSWORD', 'WIREHUB_BIND', 'WIREHUB_PORT']
  const lines = read('.env.example').split('\n')
  const entries = new Map<string, { value: string; commented: boolean; line: number }>()
  lines.forEach((line, i) => {
    const m = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line)
    if (!m) return
    const name = m[2]!
    t.notOk(entries.has(name), `${name} appears once`)
    entries.set(name, { value: m[3]!, commented: Boolean(m[1]), line: i })
    const prev = lines[i - 1] ?? ''
    t.ok(prev.startsWith('# ') && !/^#\s*[A-Z][A-Z0-9_]*=/.test(prev), `${name} has a one-line description above it`)
  })

  const missing = CONFIG_KEYS.filter((k) => !entries.has(k))
  t.same(missing, [], 'every ConfigSchema property is listed (add "# <description>" and "NAME=<default>")')

  for (const [name, entry] of entries) {
    if (!(name in SCHEMA)) {
      t.ok(EXTRA.includes(name), `${name} is a configuration variable or a known docker compose one`)
      continue
    }
    const def = SCHEMA[name]?.default
    if (def === undefined) {
      t.ok(entry.commented, `${name} has no default, so it is commented out`)
    } else if (!entry.commented) {
      const expected = typeof def === 'object' ? JSON.stringify(def) : String(def)
      t.equal(entry.value, expected, `${name}'s value is its default`)
    }
  }
})

t.test('deploy/compose.scale.yml: the instances trust X-Forwarded-For from nginx only', async (t) => {
  type Service = { environment?: Record<string, unknown>; networks?: Record<string, { ipv4_address?: string }> | string[] }
  const compose = parseYaml(read('deploy/compose.scale.yml')) as { services: Record<string, Service> }
  const lb = compose.services.loadbalancer?.networks as Record<string, { ipv4_address?: string }> | undefined
  const nginx = lb?.backend?.ipv4_address
  t.ok(nginx, 'nginx has a fixed address')
  for (const name of ['wirehub-1', 'wirehub-2']) {
    t.equal(compose.services[name]?.environment?.TRUST_PROXY, nginx, `${name}: TRUST_PROXY is that address, not true`)
  }
})

t.test('deploy/compose.scale.yml: every instance reads the root .env and has the same ADMIN_* and secret', async (t) => {
  type Service = { environment?: Record<string, unknown>; env_file?: Array<{ path: string; required?: boolean }> }
  const compose = parseYaml(read('deploy/compose.scale.yml')) as { services: Record<string, Service> }
  const instances = Object.keys(compose.services).filter((n) => n.startsWith('wirehub-'))
  t.same(instances, ['wirehub-1', 'wirehub-2'])
  for (const name of instances) {
    const service = compose.services[name]!
    // env_file paths are relative to the compose file: ../.env is the repository root's.
    t.same(service.env_file?.map((f) => f.path), ['../.env'], `${name}: env_file is the repository root's .env`)
    for (const key of ['ADMIN_EMAIL', 'ADMIN_PASSWORD', 'ADMIN_API_KEY', 'SOCKET_TOKEN_SECRET', 'DATABASE_URL']) {
      t.equal(service.environment?.[key], compose.services['wirehub-1']!.environment?.[key], `${name}: ${key} is the same as on wirehub-1`)
      t.ok(service.environment?.[key] !== undefined, `${name}: ${key} is set`)
    }
  }
  // Compose reads the interpolation .env from the compose file's folder unless told otherwise.
  const readme = read('README.md')
  t.match(readme, /docker compose --env-file \.env -f deploy\/compose\.scale\.yml up/, 'the README command points interpolation at the root .env')
  t.match(read('deploy/compose.scale.yml'), /docker compose --env-file \.env -f deploy\/compose\.scale\.yml up/, 'and so does the file header')
})

type LaunchedService = {
  build?: string | { context: string; target?: string }
  environment?: Record<string, unknown>
  volumes?: string[]
  pid?: string
  init?: boolean
  cap_drop?: string[]
  security_opt?: string[]
  networks?: string[] | Record<string, unknown>
  depends_on?: Record<string, { condition: string }>
  healthcheck?: { test: string[] }
}
const SANDBOX_OPTS = ['seccomp=unconfined', 'apparmor=unconfined', 'systempaths=unconfined']

/** A wirehub service and its launcher: same socket, same data volume, wirehub in the launcher's pid namespace. */
function checkPair(t: Test, services: Record<string, LaunchedService>, app: string, launcher: string) {
  const a = services[app]
  const l = services[launcher]
  if (!a || !l) return t.fail(`${app} and ${launcher} exist`)
  t.equal(typeof l.build === 'object' ? l.build.target : undefined, 'launcher', `${launcher} builds the launcher target`)
  t.equal(a.pid, `service:${launcher}`, `${app} joins ${launcher}'s pid namespace (re-attach by pid)`)
  t.equal(a.depends_on?.[launcher]?.condition, 'service_healthy', `${app} starts once ${launcher} answers`)
  t.match(String(a.environment?.SERVERS_LAUNCHER), /^\/data\//, `${app}: SERVERS_LAUNCHER is in the data volume`)
  t.equal(l.environment?.SERVERS_LAUNCHER, a.environment?.SERVERS_LAUNCHER, 'both use the same socket')
  t.same(Object.keys(l.environment ?? {}), ['SERVERS_LAUNCHER'], `${launcher} gets no other setting (no secret)`)
  t.notOk('env_file' in l, `${launcher} reads no .env`)
  const dataVolume = (s: LaunchedService) => s.volumes?.find((v) => v.endsWith(':/data'))
  t.ok(dataVolume(a) && dataVolume(a) === dataVolume(l), `${app} and ${launcher} share the data volume`)
  t.equal(l.init, true, `${launcher} has an init that reaps orphaned game processes`)
  t.notOk(a.init, `${app} has no init (not PID 1 in the shared namespace)`)
  t.same(l.cap_drop, ['ALL'], `${launcher} drops every capability`)
  t.same(a.cap_drop, ['ALL'], `${app} drops every capability`)
  for (const opt of ['no-new-privileges:true', ...SANDBOX_OPTS]) t.ok(l.security_opt?.includes(opt), `${launcher}: ${opt} (the sandbox needs it)`)
  t.same(a.security_opt, ['no-new-privileges:true'], `${app} keeps Docker's default seccomp and AppArmor profiles (no game runs there)`)
  t.same(l.networks, ['games'], `${launcher} is on the games' own network (no PostgreSQL or Redis there)`)
  t.match(l.healthcheck?.test.join(' ') ?? '', /launcher\.js --check/, `${launcher} health check pings the socket`)
}

t.test('docker-compose.yml: games run in the launcher service, which a wirehub upgrade leaves alone', async (t) => {
  const compose = parseYaml(read('docker-compose.yml')) as { services: Record<string, LaunchedService> }
  checkPair(t, compose.services, 'wirehub', 'launcher')
  t.notOk(compose.services.wirehub?.environment && 'SERVERS_STOP_ON_SHUTDOWN' in compose.services.wirehub.environment, 'games survive by default')
  t.match(read('docker-compose.yml'), /docker compose build wirehub && docker compose up -d --no-deps wirehub/, 'the header names the upgrade command')
})

t.test('deploy/compose.scale.yml: one launcher per instance, with the sandbox options', async (t) => {
  const compose = parseYaml(read('deploy/compose.scale.yml')) as { services: Record<string, LaunchedService> }
  checkPair(t, compose.services, 'wirehub-1', 'launcher-1')
  checkPair(t, compose.services, 'wirehub-2', 'launcher-2')
})

t.test('Dockerfile: the launcher target holds the launcher and what it imports, nothing of wirehub', async (t) => {
  const text = read('Dockerfile')
  const df = DockerfileParser.parse(text)
  const froms = df.getFROMs()
  const stage = froms.find((f) => f.getBuildStage() === 'launcher')
  if (!stage) return t.fail('a launcher stage')
  const next = froms[froms.indexOf(stage) + 1]
  t.ok(next, 'the launcher stage is not the last: the default target is wirehub')
  const inStage = df.getInstructions().filter((i) => i.getRange().start.line > stage.getRange().start.line && i.getRange().start.line < (next?.getRange().start.line ?? Infinity))
  const copied = inStage
    .filter((i) => i.getKeyword() === 'COPY')
    .flatMap((c) => c.getArguments().map((a) => a.getValue()).filter((v) => !v.startsWith('--')).slice(0, -1))
  t.notOk(copied.some((p) => /node_modules|package(-lock)?\.json$|^\/app\/dist$/.test(p)), 'no dependencies, no project package.json (it changes every release), not all of dist/')
  // Every relative import of the launcher, followed through the files it imports, is copied.
  const seen = new Set<string>()
  const walk = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const source = read(join('src', file.replace(/\.js$/, '.ts')))
    for (const m of source.matchAll(/^import[^'"]*['"](\.[^'"]+)['"]/gm)) walk(join(dirname(file), m[1]!))
  }
  walk('launcher.js')
  for (const file of seen) t.ok(copied.some((p) => p === `/app/dist/${file}`), `the launcher stage copies dist/${file}`)
  for (const dir of ['modules/servers/holder', 'modules/servers/demo']) t.ok(copied.includes(`/app/dist/${dir}`), `and dist/${dir} (the holder script, the demo game)`)
  const cmd = inStage.filter((i) => i.getKeyword() === 'CMD').at(-1) as JSONInstruction | undefined
  t.same(cmd?.getJSONStrings().map((s) => s.getJSONValue()), ['node', 'dist/launcher.js'])
  t.ok(inStage.some((i) => i.getKeyword() === 'RUN' && /bubblewrap/.test(i.getArgumentsContent() ?? '')), 'installs bubblewrap (games run here)')
  t.same(inStage.filter((i) => i.getKeyword() === 'USER').map((i) => i.getArgumentsContent()), ['node'], 'runs as the same user as wirehub')

  const last = froms.at(-1)!
  const envs = df
    .getInstructions()
    .filter((i) => i.getKeyword() === 'ENV' && i.getRange().start.line > last.getRange().start.line)
    .map((i) => i.getArgumentsContent() ?? '')
    .join(' ')
  t.match(envs, /\bSERVERS_LAUNCHER=\/data\//, 'wirehub uses the launcher by default: games survive a container stop')
  t.notMatch(envs, /SERVERS_STOP_ON_SHUTDOWN=true/, 'and are not stopped with it')
})
