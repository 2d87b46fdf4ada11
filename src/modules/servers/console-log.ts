/**
 * The durable console log of one game server: the files the holder appends to (`console.log`,
 * rotated to `console.log.1` … `console.log.<keep>`), one line per console line as
 * `<seq>\t<unix ms>\t<text>`. Sequence numbers grow by one across rotations and restarts, so a
 * client can resume from the last one it saw. wirehub reads this store (tail for `send logs`,
 * ranges and searches for REST, the whole log for downloads) and follows the current file for
 * the live stream; the holder is the only writer while a game runs, wirehub appends its own
 * notices only while none does.
 */
import { createReadStream, watch, type FSWatcher } from 'node:fs'
import { appendFile, mkdir, open, stat } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'

export interface LogLine {
  seq: number
  /** Unix time in ms (second precision for lines the holder wrote: awk has only seconds). */
  ts: number
  text: string
}

export function parseLine(raw: string): LogLine | null {
  const a = raw.indexOf('\t')
  const b = a < 0 ? -1 : raw.indexOf('\t', a + 1)
  if (b < 0) return null
  const seq = Number(raw.slice(0, a))
  const ts = Number(raw.slice(a + 1, b))
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(ts)) return null
  return { seq, ts, text: raw.slice(b + 1) }
}

export const formatLine = (l: LogLine) => `${l.seq}\t${l.ts}\t${l.text.replace(/[\r\n]/g, ' ')}\n`

const CHUNK = 65_536

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size
  } catch {
    return 0
  }
}

/** The last `n` complete lines of one file, oldest first, reading backwards in chunks. */
async function tailOf(file: string, n: number): Promise<LogLine[]> {
  let fh
  try {
    fh = await open(file, 'r')
  } catch {
    return []
  }
  try {
    let pos = (await fh.stat()).size
    let rest = Buffer.alloc(0)
    let first = true
    const newestFirst: LogLine[] = []
    while (pos > 0 && newestFirst.length < n) {
      const len = Math.min(CHUNK, pos)
      pos -= len
      const buf = Buffer.alloc(len)
      await fh.read(buf, 0, len, pos)
      const data = rest.length ? Buffer.concat([buf, rest]) : buf
      let end = data.length
      for (let i = data.length - 1; i >= 0 && newestFirst.length < n; i--) {
        if (data[i] !== 10) continue
        // The text after the file's last newline is a line still being written: not yet a line.
        if (!first && end > i + 1) {
          const l = parseLine(data.subarray(i + 1, end).toString('utf8'))
          if (l) newestFirst.push(l)
        }
        first = false
        end = i
      }
      rest = Buffer.from(data.subarray(0, end))
      if (pos === 0 && rest.length > 0 && !first && newestFirst.length < n) {
        const l = parseLine(rest.toString('utf8'))
        if (l) newestFirst.push(l)
      }
    }
    return newestFirst.reverse()
  } finally {
    await fh.close()
  }
}

export class ConsoleLog {
  constructor(
    readonly file: string,
    readonly keep: number,
  ) {}

  /** Every existing file, oldest first. */
  async files(): Promise<string[]> {
    const all = [...Array.from({ length: this.keep }, (_, i) => `${this.file}.${this.keep - i}`), this.file]
    const sizes = await Promise.all(all.map((f) => stat(f).then(() => true, () => false)))
    return all.filter((_, i) => sizes[i])
  }

  size(): Promise<number> {
    return sizeOf(this.file)
  }

  /** The last `n` lines across files, oldest first. */
  async tail(n: number): Promise<LogLine[]> {
    const files = await this.files()
    const out: LogLine[] = []
    for (let i = files.length - 1; i >= 0 && out.length < n; i--) out.unshift(...(await tailOf(files[i]!, n - out.length)))
    return out
  }

  async lastSeq(): Promise<number> {
    return (await this.tail(1))[0]?.seq ?? 0
  }

  /** Lines of one file in order; `stop` returns true to end early. */
  private async scan(file: string, each: (l: LogLine) => boolean | void): Promise<boolean> {
    const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity })
    try {
      for await (const raw of rl) {
        const l = parseLine(raw)
        if (l && each(l) === true) return true
      }
    } catch {
      /* rotated away while reading: the rest is in the next file */
    } finally {
      rl.close()
    }
    return false
  }

  /**
   * Up to `limit` lines with seq > `after` (and containing `q`, case-insensitive), oldest first.
   * Files that end before `after` are skipped by their last line.
   */
  async range(after: number, limit: number, q?: string): Promise<LogLine[]> {
    const needle = q?.toLowerCase()
    const out: LogLine[] = []
    for (const file of await this.files()) {
      const last = (await tailOf(file, 1))[0]
      if (last && last.seq <= after) continue
      const done = await this.scan(file, (l) => {
        if (l.seq <= after) return
        if (needle && !l.text.toLowerCase().includes(needle)) return
        out.push(l)
        return out.length >= limit
      })
      if (done) break
    }
    return out
  }

  /** The whole log as text, oldest line first, one `<ISO time> <text>` per line. */
  download(): Readable {
    const files = this.files()
    const self = this
    return Readable.from(
      (async function* () {
        for (const file of await files) {
          const lines: string[] = []
          await self.scan(file, (l) => {
            lines.push(`${new Date(l.ts).toISOString()} ${l.text}\n`)
          })
          yield lines.join('')
        }
      })(),
    )
  }

  /** wirehub's own lines (only while no holder writes): numbered after `lastSeq`. */
  async append(texts: string[], lastSeq: number, now = Date.now()): Promise<LogLine[]> {
    const lines = texts.map((text, i) => ({ seq: lastSeq + 1 + i, ts: now, text }))
    await mkdir(dirname(this.file), { recursive: true })
    await appendFile(this.file, lines.map(formatLine).join(''))
    return lines
  }
}

/**
 * Follows the current log file from an offset and hands over complete new lines, across
 * rotations: when the file is renamed to `.1`, the rest of the old file is read through the open
 * handle before the new file is read from its start. Woken by a directory watch (inotify) and
 * by `poke()` (the stats timer), so a missed event only delays lines.
 */
export class LogFollower {
  private fh: import('node:fs/promises').FileHandle | null = null
  private ino = 0
  private offset = 0
  private partial = Buffer.alloc(0)
  private readBuf: Buffer | null = null
  private watcher: FSWatcher | null = null
  private reading: Promise<void> | null = null
  private again = false
  private closed = false

  constructor(
    readonly file: string,
    private readonly onLines: (lines: LogLine[]) => void,
  ) {}

  /** Starts at the current end of the file (what is already there is history, not live). */
  async start(): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true })
    await this.reopen(true)
    try {
      this.watcher = watch(dirname(this.file), (_e, name) => {
        if (!name || name.startsWith(basename(this.file))) this.poke()
      })
      this.watcher.on('error', () => {})
    } catch {
      /* no inotify: poke() from the stats timer still delivers */
    }
  }

  private async reopen(atEnd: boolean): Promise<void> {
    await this.fh?.close().catch(() => {})
    this.fh = null
    this.partial = Buffer.alloc(0)
    try {
      this.fh = await open(this.file, 'r')
      const st = await this.fh.stat()
      this.ino = st.ino
      this.offset = atEnd ? st.size : 0
    } catch {
      this.ino = 0
      this.offset = 0
    }
  }

  /** Reads what is new now; concurrent calls coalesce into one more pass. */
  poke(): Promise<void> {
    if (this.closed) return Promise.resolve()
    if (this.reading) {
      this.again = true
      return this.reading
    }
    this.reading = (async () => {
      do {
        this.again = false
        await this.pass()
      } while (this.again && !this.closed)
    })().finally(() => {
      this.reading = null
    })
    return this.reading
  }

  private async pass(): Promise<void> {
    if (!this.fh) {
      await this.reopen(false)
      if (!this.fh) return
    }
    await this.readToEnd()
    let current = 0
    try {
      current = (await stat(this.file)).ino
    } catch {
      current = 0
    }
    if (current !== this.ino) {
      // Rotated (or created): the old handle has been read to its end; continue with the new file.
      await this.reopen(false)
      if (this.fh) await this.readToEnd()
    }
  }

  private async readToEnd(): Promise<void> {
    const fh = this.fh!
    // One read buffer per follower (not a zeroed 64 KiB per read), split with the native
    // indexOf and decoded once per chunk: a flood passes through here line by line.
    const buf = (this.readBuf ??= Buffer.allocUnsafe(CHUNK))
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, this.offset)
      if (bytesRead === 0) return
      this.offset += bytesRead
      const data = this.partial.length ? Buffer.concat([this.partial, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead)
      const end = data.lastIndexOf(10)
      const lines: LogLine[] = []
      if (end >= 0) {
        const text = data.toString('utf8', 0, end)
        let from = 0
        for (;;) {
          const nl = text.indexOf('\n', from)
          const l = parseLine(nl < 0 ? text.slice(from) : text.slice(from, nl))
          if (l) lines.push(l)
          if (nl < 0) break
          from = nl + 1
        }
      }
      this.partial = Buffer.from(data.subarray(end + 1))
      if (lines.length && !this.closed) this.onLines(lines)
    }
  }

  async close(): Promise<void> {
    this.closed = true
    this.watcher?.close()
    this.watcher = null
    await this.reading?.catch(() => {})
    await this.fh?.close().catch(() => {})
    this.fh = null
  }
}
