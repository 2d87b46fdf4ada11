/**
 * Loads Prisma's schema engine compiled to wasm (`@prisma/schema-engine-wasm`) and starts engines
 * on a driver adapter. The Prisma CLI's migrate commands need a native engine this machine cannot
 * download; the wasm engine is the same Rust code, run in-process over a JS driver adapter.
 *
 * The package's main entry imports the `.wasm` file as an ES module, which Node 20 only allows
 * with `--experimental-wasm-modules`. We import the JS glue (`schema_engine_bg`) instead and
 * instantiate the wasm ourselves with that glue as its `./schema_engine_bg.js` import object, once
 * per process. Two adjustments to the import object:
 *  - timers the engine starts are `unref()`ed: the engine races its advisory-lock query against a
 *    10 s timeout it never clears, which would otherwise keep short-lived processes alive for 10 s
 *    (an outstanding lock query holds its own socket open, so nothing is cut short);
 *  - Rust panics are captured through `globalThis.PRISMA_WASM_PANIC_REGISTRY` so the resulting
 *    `RuntimeError: unreachable` carries the panic message, and the instance is replaced afterwards
 *    (wasm-bindgen instances are not usable after a panic).
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import * as glue from '@prisma/schema-engine-wasm/schema_engine_bg'
import type {
  ApplyMigrationsOutput,
  CreateMigrationInput,
  CreateMigrationOutput,
  DiffParams,
  DiffResult,
  DiffTarget,
  MigrationDirectory,
  MigrationList,
  SchemaEngine,
  SchemaFilter,
} from '@prisma/schema-engine-wasm/schema_engine_bg'
import {
  bindMigrationAwareSqlAdapterFactory,
  type ErrorRegistry,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils'

export type { ApplyMigrationsOutput, CreateMigrationInput, CreateMigrationOutput, DiffParams, DiffResult, DiffTarget, MigrationDirectory, MigrationList, SchemaEngine, SchemaFilter }

/** pino-compatible subset used for the engine's own log lines. */
export interface EngineLogger {
  debug?(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

/** The filter every command takes; we manage all tables and enums. */
export const NO_FILTER: SchemaFilter = { externalTables: [], externalEnums: [] }

/** An engine error: the engine rejects with `Error`s carrying a Prisma error code (P1012, P3018…). */
export class SchemaEngineError extends Error {
  readonly code: string | undefined
  constructor(message: string, code: string | undefined, cause: unknown) {
    super(message, { cause })
    this.name = 'SchemaEngineError'
    this.code = code
  }
}

type Glue = typeof glue

/**
 * The slice of the global `WebAssembly` API we use. tsconfig's `lib` (ES2023, no DOM) and
 * @types/node 20 do not declare it, so it is typed here.
 */
interface WebAssemblyApi {
  instantiate(
    bytes: Uint8Array,
    imports: Record<string, Record<string, unknown>>,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>
  RuntimeError: abstract new (...args: never[]) => Error
}
const wasmApi = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly

interface PanicRegistry {
  set_message(message: string): void
}

let loaded: Promise<Glue> | undefined
let lastPanic: string | undefined

function installPanicRegistry(): void {
  const g = globalThis as typeof globalThis & { PRISMA_WASM_PANIC_REGISTRY?: PanicRegistry }
  const previous = g.PRISMA_WASM_PANIC_REGISTRY
  if (previous && (previous as PanicRegistry & { wirehub?: true }).wirehub) return
  const registry: PanicRegistry & { wirehub: true } = {
    wirehub: true,
    set_message(message: string) {
      lastPanic = message
      // Prisma's query compiler registers the same global; keep it informed too.
      previous?.set_message(message)
    },
  }
  g.PRISMA_WASM_PANIC_REGISTRY = registry
}

async function instantiate(): Promise<Glue> {
  installPanicRegistry()
  // The subpath export has a `require` condition, so require.resolve finds the glue's real path
  // under any loader (tsx, tap, plain node); the .wasm file sits next to it.
  const gluePath = createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm/schema_engine_bg')
  const bytes = await readFile(gluePath.replace(/\.js$/, '.wasm'))

  const imports: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(glue)) {
    if (name.startsWith('__wbg_setTimeout_') && typeof value === 'function') {
      const original = value as unknown as (callback: () => void, ms: number) => NodeJS.Timeout
      imports[name] = (callback: () => void, ms: number) => {
        const timer = original(callback, ms)
        timer.unref()
        return timer
      }
    } else {
      imports[name] = value
    }
  }
  const { instance } = await wasmApi.instantiate(bytes, { './schema_engine_bg.js': imports })
  glue.__wbg_set_wasm(instance.exports)
  const start = instance.exports.__wbindgen_start
  if (typeof start !== 'function') throw new Error('schema engine wasm has no __wbindgen_start export')
  ;(start as () => void)()
  return glue
}

/** Loads and starts the wasm module once per process (about 40 ms); later calls reuse it. */
export function loadSchemaEngine(): Promise<Glue> {
  if (!loaded) {
    loaded = instantiate()
    loaded.catch(() => {
      loaded = undefined
    })
  }
  return loaded
}

/** The engine's git hash, e.g. for logs. */
export async function schemaEngineVersion(): Promise<string> {
  return (await loadSchemaEngine()).version()
}

/** Turns whatever the engine rejected with into a SchemaEngineError with a readable message. */
export function toEngineError(err: unknown, registry?: ErrorRegistry): SchemaEngineError {
  if (err instanceof SchemaEngineError) return err
  if (err instanceof wasmApi.RuntimeError) {
    // A Rust panic: this instance is unusable now, load a fresh one next time.
    loaded = undefined
    const panic = lastPanic
    lastPanic = undefined
    return new SchemaEngineError(`schema engine panicked: ${panic ?? err.message}`, undefined, err)
  }
  if (err instanceof Error) {
    const code = (err as Error & { code?: unknown }).code
    const message = registry ? resolveExternalErrors(err.message, registry) : err.message
    return new SchemaEngineError(message, typeof code === 'string' ? code : undefined, err)
  }
  return new SchemaEngineError(`schema engine failed: ${String(err)}`, undefined, err)
}

/** Replaces the engine's "External error id#N" with the JS error the adapter actually threw. */
function resolveExternalErrors(message: string, registry: ErrorRegistry): string {
  return message.replace(/External error id#(\d+)/g, (whole, id: string) => {
    const record = registry.consumeError(Number(id))
    if (!record) return whole
    const { error } = record
    return error instanceof Error ? `${error.name}: ${error.message}` : `JS error: ${String(error)}`
  })
}

interface EngineLogLine {
  level?: string
  fields?: { message?: string; [key: string]: unknown }
  target?: string
  [key: string]: unknown
}

function makeLogCallback(log: EngineLogger | undefined): (line: string) => void {
  return (line: string) => {
    if (!log) return
    let parsed: EngineLogLine
    try {
      parsed = JSON.parse(line) as EngineLogLine
    } catch {
      log.debug?.({ engine: line.trim() }, 'schema engine')
      return
    }
    const { message, ...fields } = parsed.fields ?? {}
    const obj = { engine: parsed.target, ...fields }
    const msg = message ?? 'schema engine'
    switch (parsed.level) {
      case 'ERROR':
        log.error(obj, msg)
        break
      case 'WARN':
        log.warn(obj, msg)
        break
      default:
        // INFO and below are step-by-step chatter ("Starting schema-engine-wasm", span timings).
        log.debug?.(obj, msg)
    }
  }
}

export interface StartEngineOptions {
  /** The driver adapter factory of the database the engine works on (unwrapped). */
  adapterFactory: SqlMigrationAwareDriverAdapterFactory
  /** Prisma schema files as [path, content]; only used for datasource settings (namespaces). */
  datamodels?: [string, string][]
  log?: EngineLogger
}

/**
 * A started engine with the commands we use. Rejections are SchemaEngineErrors; JS errors thrown
 * inside the adapter (which the engine only knows as "External error id#N") are resolved back to
 * the original error through the adapter binding's error registry.
 */
export class WasmSchemaEngine {
  #freed = false

  private constructor(
    private readonly engine: SchemaEngine,
    private readonly registry: ErrorRegistry,
  ) {}

  /** Starts an engine connected through the factory (the engine calls `connect()` right away). */
  static async start(opts: StartEngineOptions): Promise<WasmSchemaEngine> {
    const mod = await loadSchemaEngine()
    const bound = bindMigrationAwareSqlAdapterFactory(opts.adapterFactory)
    try {
      const engine = await mod.SchemaEngine.new({ datamodels: opts.datamodels }, makeLogCallback(opts.log), bound)
      return new WasmSchemaEngine(engine, bound.errorRegistry)
    } catch (err) {
      throw toEngineError(err, bound.errorRegistry)
    }
  }

  /** `prisma migrate deploy`: applies the unapplied migrations of the list. */
  applyMigrations(migrationsList: MigrationList): Promise<ApplyMigrationsOutput> {
    return this.run((e) => e.applyMigrations({ migrationsList, filters: NO_FILTER }))
  }

  /** `prisma migrate diff --script`: SQL taking `from` to `to` (ends with a newline). */
  async diffScript(from: DiffTarget, to: DiffTarget): Promise<string> {
    const result = await this.run((e) => e.diff({ from, to, script: true, exitCode: null, filters: NO_FILTER }))
    return result.stdout ?? ''
  }

  /** `prisma migrate dev --create-only`: the next migration's name and script (null if empty). */
  createMigration(input: Omit<CreateMigrationInput, 'filters'>): Promise<CreateMigrationOutput> {
    return this.run((e) => e.createMigration({ ...input, filters: NO_FILTER }))
  }

  /** Releases the engine (its adapters are the caller's to dispose). Idempotent. */
  free(): void {
    if (this.#freed) return
    this.#freed = true
    this.engine.free()
  }

  private async run<T>(command: (engine: SchemaEngine) => Promise<T>): Promise<T> {
    if (this.#freed) throw new SchemaEngineError('schema engine used after free()', undefined, undefined)
    try {
      return await command(this.engine)
    } catch (err) {
      throw toEngineError(err, this.registry)
    }
  }
}
