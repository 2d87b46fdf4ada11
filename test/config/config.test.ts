/**
 * Configuration loading: the JSON config file (`--config <file>`, `--config=<file>` or
 * CONFIG_FILE) in the seed's shape (`websocket.port`, `websocket.approvedSocketDomains`) and with
 * plain variable names, environment variables overriding the file, and one ConfigError naming
 * every bad variable, invalid regular expressions included.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError, configFileFromArgv, loadConfig, parseConfigText } from '../../src/config/config.js'

const dir = mkdtempSync(join(tmpdir(), 'wirehub-config-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

let n = 0
function file(content: unknown): string {
  const path = join(dir, `config-${n++}.json`)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}

/** loadConfig with nothing from the real environment or a `.env`. */
const load = (env: Record<string, string> = {}, argv: string[] = []) => loadConfig({ env, argv, dotenv: false, cwd: dir })

function problemsOf(fn: () => unknown): string[] {
  try {
    fn()
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error('expected a ConfigError')
}

// The seed's snippet, verbatim (trailing comma included).
const SEED_SNIPPET = `{
"websocket": {
    "port": 8080,
    "approvedSocketDomains": [
        "localhost",
        "^ws://www.webinate.net:123$",
        "^webinate\\\\.net:80$",
        "^example\\\\.com$",
        "^.+\\\\.example\\\\.com$",
        "^example\\\\.org",
        "^.+\\\\.example\\\\.org",
    ]
}
}`

t.test('defaults: no extra port, an empty allow-list (refuses all), no key required', async (t) => {
  const cfg = load()
  t.equal(cfg.USER_EVENTS_PORT, undefined)
  t.same(cfg.APPROVED_SOCKET_DOMAINS, [])
  t.equal(cfg.USER_EVENTS_REQUIRE_KEY, false)
})

t.test("the seed's config file: websocket.port and websocket.approvedSocketDomains", async (t) => {
  const path = file(SEED_SNIPPET)
  for (const argv of [['--config', path], [`--config=${path}`]]) {
    const cfg = load({}, argv)
    t.equal(cfg.USER_EVENTS_PORT, 8080, argv.join(' '))
    t.same(cfg.APPROVED_SOCKET_DOMAINS, ['localhost', '^ws://www.webinate.net:123$', '^webinate\\.net:80$', '^example\\.com$', '^.+\\.example\\.com$', '^example\\.org', '^.+\\.example\\.org'])
  }
  t.equal(load({ CONFIG_FILE: path }).USER_EVENTS_PORT, 8080, 'CONFIG_FILE')
  t.equal(configFileFromArgv(['--port', '1', '--config', 'x.json']), 'x.json')
})

t.test('the rest of the configuration lives in the same file; relative paths are resolved against cwd', async (t) => {
  const path = file({ PORT: 4000, LOG_LEVEL: 'debug', USER_EVENTS_REQUIRE_KEY: true, websocket: { port: 4001 } })
  const cfg = load({}, ['--config', path.slice(dir.length + 1)])
  t.equal(cfg.PORT, 4000)
  t.equal(cfg.LOG_LEVEL, 'debug')
  t.equal(cfg.USER_EVENTS_REQUIRE_KEY, true)
  t.equal(cfg.USER_EVENTS_PORT, 4001)
})

t.test('environment variables override the file', async (t) => {
  const path = file({ PORT: 4000, websocket: { port: 8080, approvedSocketDomains: ['^from-file$'] } })
  const cfg = load({ CONFIG_FILE: path, PORT: '5000', USER_EVENTS_PORT: '9090', APPROVED_SOCKET_DOMAINS: '["^from-env$"]' })
  t.equal(cfg.PORT, 5000)
  t.equal(cfg.USER_EVENTS_PORT, 9090)
  t.same(cfg.APPROVED_SOCKET_DOMAINS, ['^from-env$'])
  const partial = load({ CONFIG_FILE: path, USER_EVENTS_PORT: '' })
  t.equal(partial.USER_EVENTS_PORT, 8080, 'an empty variable means unset: the file value stays')
  t.same(partial.APPROVED_SOCKET_DOMAINS, ['^from-file$'])
  t.equal(partial.PORT, 4000)
})

t.test('one ConfigError names every bad variable, invalid regular expressions included', async (t) => {
  const path = file({ PORT: 'not-a-port', websocket: { port: 70000, approvedSocketDomains: ['^ok$', '(unclosed', '[z-a]'] } })
  const problems = problemsOf(() => load({ CONFIG_FILE: path, LOG_LEVEL: 'loud' }))
  const text = problems.join('\n')
  t.match(text, /^PORT: /m)
  t.match(text, /^USER_EVENTS_PORT: /m)
  t.match(text, /^LOG_LEVEL: /m)
  t.match(text, /^APPROVED_SOCKET_DOMAINS: invalid regular expression "\(unclosed"/m)
  t.match(text, /^APPROVED_SOCKET_DOMAINS: invalid regular expression "\[z-a\]"/m)
  t.notMatch(text, /"\^ok\$"/, 'valid patterns are not reported')
  t.equal(problems.length, 5, 'each once')
})

t.test('an invalid pattern from the environment is named too', async (t) => {
  const err = (() => {
    try {
      load({ APPROVED_SOCKET_DOMAINS: JSON.stringify(['^a$', '*oops']) })
    } catch (e) {
      return e as Error
    }
    return null
  })()
  t.type(err, ConfigError)
  t.match(err?.message, /APPROVED_SOCKET_DOMAINS: invalid regular expression "\*oops"/)
})

t.test('bad shapes are reported, not ignored', async (t) => {
  t.match(problemsOf(() => load({ APPROVED_SOCKET_DOMAINS: 'localhost' })).join('\n'), /^APPROVED_SOCKET_DOMAINS: /m, 'not a JSON array')
  t.match(problemsOf(() => load({ APPROVED_SOCKET_DOMAINS: '^a$,^b$' })).join('\n'), /^APPROVED_SOCKET_DOMAINS: must be a JSON array/m, 'a comma list is not silently one pattern')
  t.match(problemsOf(() => load({ CONFIG_FILE: file({ websocket: { approvedSocketDomains: 'localhost' } }) })).join('\n'), /^APPROVED_SOCKET_DOMAINS: must be a JSON array/m, 'nor a string in the file')
  t.match(problemsOf(() => load({ CONFIG_FILE: join(dir, 'missing.json') })).join('\n'), /^CONFIG_FILE: cannot read/m)
  t.match(problemsOf(() => load({ CONFIG_FILE: file('[1, 2]') })).join('\n'), /^CONFIG_FILE: .* must contain a JSON object/m)
  t.match(problemsOf(() => load({ CONFIG_FILE: file('{ "PORT": ') })).join('\n'), /^CONFIG_FILE: cannot read/m)
})

t.test('trailing commas and comments are tolerated outside strings only', async (t) => {
  t.same(parseConfigText('{"a": [1, 2, ], "b": ",]", }'), { a: [1, 2], b: ',]' })
  t.same(parseConfigText('{"a": "x\\",}", }'), { a: 'x",}' })
  t.same(parseConfigText('{\n  // the port\n  "PORT": 8080, /* and a URL */ "PUBLIC_URL": "http://h/*x*/",\n}'), { PORT: 8080, PUBLIC_URL: 'http://h/*x*/' })
  t.throws(() => parseConfigText('{"PORT": 1 /* unterminated'), SyntaxError, 'malformed text still fails')
})

t.test('a config file with comments loads', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wirehub-jsonc-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'config.json')
  writeFileSync(path, '// wirehub\n{\n  "websocket": { "port": 8123, }, // the user events port\n}\n')
  t.equal(loadConfig({ env: { CONFIG_FILE: path }, dotenv: false }).USER_EVENTS_PORT, 8123)
})
