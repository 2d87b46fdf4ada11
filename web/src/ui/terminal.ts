/**
 * The console terminal: xterm.js (ANSI colours as the server prints them), read-only (commands
 * go through the input below it), fitted to its container, with search (xterm's search addon,
 * matches highlighted) and optional arrival timestamps. The lines are also kept here (as many as
 * the scrollback) so that turning timestamps on or off redraws them, and so that the shown lines
 * can be saved. `text()` reads the whole buffer, scrollback included, as plain text (used by the
 * end-to-end tests through the element's `wirehubText` property).
 */
import { Terminal } from '@xterm/xterm'
import { FitAddon } from '@xterm/addon-fit'
import { SearchAddon, type ISearchOptions } from '@xterm/addon-search'
import { clock } from '../lib/format.js'

const SCROLLBACK = 5000
const SEARCH: ISearchOptions = {
  caseSensitive: false,
  decorations: { matchBackground: '#854d0e', matchOverviewRuler: '#facc15', activeMatchBackground: '#ca8a04', activeMatchColorOverviewRuler: '#fde047' },
}
// Strips ANSI escape sequences for the saved log.
const ANSI = /\x1b\[[0-9;?]*[ -\/]*[@-~]/g

export class ConsoleTerminal {
  readonly term: Terminal
  private readonly fit = new FitAddon()
  private readonly search = new SearchAddon({ highlightLimit: 1000 })
  private readonly resize: ResizeObserver
  private readonly lines: Array<{ at: number; text: string }> = []
  private stamps = false

  constructor(readonly el: HTMLElement) {
    this.term = new Terminal({
      disableStdin: true,
      convertEol: true,
      cursorBlink: false,
      cursorStyle: 'bar',
      cursorInactiveStyle: 'none',
      scrollback: SCROLLBACK,
      // Decorations (search highlights) are still a proposed API in xterm.
      allowProposedApi: true,
      fontSize: 13,
      lineHeight: 1.25,
      fontFamily: 'ui-monospace, "JetBrains Mono", "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace',
      theme: {
        background: '#0b1020',
        foreground: '#d6deeb',
        cursor: '#0b1020',
        selectionBackground: '#334155',
        black: '#1e293b',
        red: '#f87171',
        green: '#4ade80',
        yellow: '#facc15',
        blue: '#60a5fa',
        magenta: '#c084fc',
        cyan: '#22d3ee',
        white: '#e2e8f0',
        brightBlack: '#64748b',
        brightRed: '#fca5a5',
        brightGreen: '#86efac',
        brightYellow: '#fde68a',
        brightBlue: '#93c5fd',
        brightMagenta: '#d8b4fe',
        brightCyan: '#67e8f9',
        brightWhite: '#f8fafc',
      },
    })
    this.term.loadAddon(this.fit)
    this.term.loadAddon(this.search)
    this.term.open(el)
    this.fitNow()
    this.resize = new ResizeObserver(() => this.fitNow())
    this.resize.observe(el)
    Object.defineProperty(el, 'wirehubText', { value: () => this.text(), configurable: true })
  }

  /** One console line (ANSI sequences kept). */
  line(text: string): void {
    this.keep(text)
  }

  /** A local notice in the panel's colours (not server output). */
  notice(text: string, color: 'yellow' | 'red' | 'cyan' | 'green' = 'yellow'): void {
    const code = { yellow: 33, red: 31, cyan: 36, green: 32 }[color]
    this.keep(`\x1b[1;${code}m[wirehub]\x1b[0m \x1b[${code}m${text}\x1b[0m`)
  }

  clear(): void {
    this.lines.length = 0
    this.term.clear()
  }

  /** Prefixes every line with the time it arrived (24-hour), or stops doing so. */
  setTimestamps(on: boolean): void {
    if (on === this.stamps) return
    this.stamps = on
    this.term.reset()
    for (const l of this.lines) this.term.writeln(this.render(l))
  }

  /** Finds the next (or previous) match of `term`; false when there is none. */
  find(term: string, backwards = false): boolean {
    if (!term) {
      this.search.clearDecorations()
      return false
    }
    return backwards ? this.search.findPrevious(term, SEARCH) : this.search.findNext(term, SEARCH)
  }

  clearSearch(): void {
    this.search.clearDecorations()
    this.term.clearSelection()
  }

  /** Match count and position for the search box ("3 / 12"). */
  onResults(fn: (index: number, count: number) => void): void {
    this.search.onDidChangeResults((r) => fn(r.resultIndex, r.resultCount))
  }

  /** The lines shown, as plain text with their arrival times (what "download" saves without a server log). */
  plainLog(): string {
    return this.lines.map((l) => `${new Date(l.at).toISOString()} ${l.text.replace(ANSI, '')}`).join('\n') + '\n'
  }

  private keep(text: string): void {
    const l = { at: Date.now(), text }
    this.lines.push(l)
    if (this.lines.length > SCROLLBACK) this.lines.splice(0, this.lines.length - SCROLLBACK)
    this.term.writeln(this.render(l))
  }

  private render(l: { at: number; text: string }): string {
    return this.stamps ? `\x1b[90m${clock(l.at)}\x1b[0m ${l.text}` : l.text
  }

  text(): string {
    const buf = this.term.buffer.active
    const lines: string[] = []
    for (let i = 0; i < buf.length; i++) {
      const line = buf.getLine(i)
      const text = line?.translateToString(true) ?? ''
      // A row continuing the one above (a long line wrapped on a narrow screen) is the same line.
      if (line?.isWrapped && lines.length) lines[lines.length - 1] += text
      else lines.push(text)
    }
    return lines.join('\n')
  }

  private fitNow(): void {
    if (this.el.clientWidth > 0 && this.el.clientHeight > 0) {
      try {
        this.fit.fit()
      } catch {
        // not laid out yet
      }
    }
  }

  destroy(): void {
    this.resize.disconnect()
    this.term.dispose()
  }
}
