/**
 * Runs the code examples of packages/client/README.md as they are written, so that an edited
 * README is what the suite tests.
 *
 * `readmeExamples()` extracts every ```ts block with the heading it sits under. `runExample()`
 * compiles one with esbuild (types stripped, nothing else changed) and imports it as an ES
 * module; `bundleExample()` bundles one for a browser page. The only edits, applied to the text:
 *
 * - `'http://127.0.0.1:3000'` (the README's base URL) → the test server's URL;
 * - `'1a2b3c4d'` (the README's server short id) → a real server's short id;
 * - `from '@wirehub/client'` → the SDK's sources, `from 'ws'` → the installed `ws` package.
 *
 * The names an example uses without declaring them (`client`, `ch`, `deviceId`, the UI
 * stand-ins `term`, `chart`, `badge`, `tiles`, `spinner`, `toast`, and `console`) are given to
 * it as variables (`scope`); every top-level `const` it declares comes back to the test.
 */
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build as esbuild, transform } from 'esbuild'
import type { TapLike } from '../helper.js'

const README = new URL('../../packages/client/README.md', import.meta.url)
const SDK_ENTRY = fileURLToPath(new URL('../../packages/client/src/index.ts', import.meta.url))
/** The same entry as a module to import in this process: `.js` (compiled next to the source when the suite runs from JavaScript, mapped to the `.ts` by a TypeScript loader otherwise). */
const SDK_MODULE = new URL('../../packages/client/src/index.js', import.meta.url).href
export const README_BASE_URL = 'http://127.0.0.1:3000'
export const README_SERVER_ID = '1a2b3c4d'
/** Where a run's scope and results pass between the test and the example module. */
const SLOT = '__wirehubReadmeExample'

export interface Example {
  /** The nearest heading above the block (`Console`, `History then live (charts)`, ...). */
  heading: string
  code: string
}

export function readmeExamples(): Example[] {
  const text = readFileSync(README, 'utf8')
  const out: Example[] = []
  let heading = '(top)'
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const h = /^#{1,6}\s+(.*)$/.exec(line)
    if (h) heading = h[1]!.trim()
    if (line.trim() !== '```ts') continue
    const body: string[] = []
    for (i++; i < lines.length && lines[i]!.trim() !== '```'; i++) body.push(lines[i]!)
    out.push({ heading, code: body.join('\n') })
  }
  return out
}

/** Top-level `const`/`let` names of an example (its lines that start a declaration). */
function declaredNames(code: string): string[] {
  return [...code.matchAll(/^(?:const|let)\s+([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]!)
}

export interface Substitutions {
  baseUrl: string
  serverId?: string
}

function substitute(code: string, subs: Substitutions, imports: { sdk: string; ws: string }): string {
  let out = code.replaceAll(`'${README_BASE_URL}'`, JSON.stringify(subs.baseUrl))
  if (subs.serverId) out = out.replaceAll(`'${README_SERVER_ID}'`, JSON.stringify(subs.serverId))
  return out.replaceAll(`from '@wirehub/client'`, `from ${JSON.stringify(imports.sdk)}`).replaceAll(`from 'ws'`, `from ${JSON.stringify(imports.ws)}`)
}

/** The example with its scope bound at the top and its declarations handed back at the end. */
function wrap(code: string, scope: Record<string, unknown>): string {
  const given = Object.keys(scope)
  const names = declaredNames(code)
  // Imports stay first (ES modules hoist them anyway); the scope is bound right after them.
  const lines = code.split('\n')
  const importEnd = lines.reduce((end, l, i) => (/^import\s/.test(l) ? i + 1 : end), 0)
  const prelude = given.length ? `const { ${given.join(', ')} } = (globalThis as any).${SLOT}.scope\n` : ''
  return [...lines.slice(0, importEnd), prelude, ...lines.slice(importEnd), `;(globalThis as any).${SLOT}.result = { ${names.join(', ')} }`].join('\n')
}

/** Runs an example in this process; resolves with the values of its top-level declarations. */
export async function runExample(t: TapLike, example: Example, subs: Substitutions, scope: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const source = wrap(substitute(example.code, subs, { sdk: SDK_MODULE, ws: import.meta.resolve('ws') }), scope)
  const { code } = await transform(source, { loader: 'ts', format: 'esm', target: 'es2022' })
  const dir = mkdtempSync(join(tmpdir(), 'wirehub-readme-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'example.mjs')
  writeFileSync(file, code)
  const slot = { scope, result: undefined as Record<string, unknown> | undefined }
  ;(globalThis as Record<string, unknown>)[SLOT] = slot
  await import(pathToFileURL(file).href)
  if (!slot.result) throw new Error(`the example under "${example.heading}" did not run to its end`)
  return slot.result
}

/**
 * Bundles an example (and the SDK it imports) for a browser page; the page reads its
 * declarations from `globalThis.__wirehubReadmeExample.result` once the module has run.
 */
export async function bundleExample(example: Example, subs: Substitutions): Promise<string> {
  const source = `;(globalThis as any).${SLOT} = { scope: {} }\n` + wrap(substitute(example.code, subs, { sdk: '@wirehub/client', ws: 'ws' }), {})
  const out = await esbuild({
    stdin: { contents: source, loader: 'ts', resolveDir: fileURLToPath(new URL('.', import.meta.url)) },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    alias: { '@wirehub/client': SDK_ENTRY },
  })
  return out.outputFiles[0]!.text
}

/** Records what an example hands to a UI stand-in; `until` waits for a matching entry. */
export class Tape<T = unknown> {
  readonly entries: T[] = []
  private waiters: Array<{ pred: (v: T) => boolean; resolve: (v: T) => void }> = []

  record = (value: T): void => {
    this.entries.push(value)
    this.waiters = this.waiters.filter((w) => !(w.pred(value) && (w.resolve(value), true)))
  }

  until(pred: (v: T) => boolean = () => true): Promise<T> {
    const found = this.entries.find(pred)
    if (found !== undefined) return Promise.resolve(found)
    return new Promise((resolve) => this.waiters.push({ pred, resolve }))
  }
}

/** A `console` stand-in whose `log` calls are recorded (as argument arrays). */
export function recordingConsole(): { console: { log: (...args: unknown[]) => void }; logs: Tape<unknown[]> } {
  const logs = new Tape<unknown[]>()
  return { console: { log: (...args: unknown[]) => logs.record(args) }, logs }
}

/** An element stand-in: every `textContent` assignment is recorded. */
export function recordingElement(): { el: { textContent: string }; texts: Tape<string> } {
  const texts = new Tape<string>()
  let current = ''
  return {
    el: {
      get textContent() {
        return current
      },
      set textContent(v: string) {
        current = v
        texts.record(v)
      },
    },
    texts,
  }
}

/** What the examples use without declaring it, as a TypeScript user's own code would declare it. */
const AMBIENT: Record<string, string> = {
  client: 'WirehubClient',
  ch: 'ChannelsSocket',
  deviceId: 'number',
  term: '{ write(text: string): void }',
  chart: '{ push(value: number | undefined): void; append(offset: number, telemetry: Record<string, { value: number }>): void }',
  badge: '{ textContent: string }',
  tiles: '{ set(latest: Record<string, { value: number; offset: number }>): void }',
  spinner: '{ hide(): void }',
  toast: '(text: string) => void',
}

/**
 * Type-checks every example as the SDK's own compiler settings would (strict, browser and Node
 * types): a TypeScript user copying one gets no error. Returns the diagnostics, one line each.
 */
export async function typecheckExamples(list: Example[]): Promise<string[]> {
  const ts = (await import('typescript')).default
  const root = fileURLToPath(new URL('../../', import.meta.url))
  const files = new Map<string, string>()
  list.forEach((e, i) => {
    const declared = new Set([...declaredNames(e.code), ...[...e.code.matchAll(/import\s+(?:\{([^}]*)\}|(\w+))/g)].flatMap((m) => (m[1] ?? m[2] ?? '').split(',').map((s) => s.trim()))])
    const ambient = Object.entries(AMBIENT).filter(([name]) => !declared.has(name) && new RegExp(`\\b${name}\\b`).test(e.code))
    const header = ambient.length
      ? `import type { WirehubClient, ChannelsSocket } from '@wirehub/client'\n${ambient.map(([n, type]) => `declare const ${n}: ${type}`).join('\n')}\n`
      : ''
    // Ambient names are declared after the imports the example starts with.
    const lines = e.code.split('\n')
    const importEnd = lines.reduce((end, l, j) => (/^import\s/.test(l) ? j + 1 : end), 0)
    files.set(join(root, `packages/client/readme-example-${i}.ts`), [...lines.slice(0, importEnd), header, ...lines.slice(importEnd), 'export {}'].join('\n'))
  })
  const options: import('typescript').CompilerOptions = {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'], types: ['node'], typeRoots: [join(root, 'node_modules/@types')],
    strict: true, noUncheckedIndexedAccess: true, skipLibCheck: true, noEmit: true,
    baseUrl: root, paths: { '@wirehub/client': ['packages/client/src/index.ts'] },
  }
  const host = ts.createCompilerHost(options)
  const getSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (name, lang, ...rest) => (files.has(name) ? ts.createSourceFile(name, files.get(name)!, lang) : getSourceFile(name, lang, ...rest))
  const fileExists = host.fileExists.bind(host)
  host.fileExists = (name) => files.has(name) || fileExists(name)
  const readFile = host.readFile.bind(host)
  host.readFile = (name) => files.get(name) ?? readFile(name)
  const program = ts.createProgram([...files.keys()], options, host)
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${list[Number(/readme-example-(\d+)/.exec(d.file.fileName)?.[1])]?.heading ?? d.file.fileName}: ${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : ''
    return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`
  })
}
