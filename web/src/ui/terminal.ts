/**
 * The console terminal: xterm.js (ANSI colours as the server prints them), read-only (commands
 * go through the input below it), fitted to its container. `text()` reads the whole buffer,
 * scrollback included, as plain text (used by the end-to-end tests through the element's
 * `wirehubText` property).
 */
import { Terminal } from '@xterm/xterm'
import { FitAddon } from '@xterm/addon-fit'

export class ConsoleTerminal {
  readonly term: Terminal
  private readonly fit = new FitAddon()
  private readonly resize: ResizeObserver

  constructor(readonly el: HTMLElement) {
    this.term = new Terminal({
      disableStdin: true,
      convertEol: true,
      cursorBlink: false,
      cursorStyle: 'bar',
      cursorInactiveStyle: 'none',
      scrollback: 5000,
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
    this.term.open(el)
    this.fitNow()
    this.resize = new ResizeObserver(() => this.fitNow())
    this.resize.observe(el)
    Object.defineProperty(el, 'wirehubText', { value: () => this.text(), configurable: true })
  }

  /** One console line (ANSI sequences kept). */
  line(text: string): void {
    this.term.writeln(text)
  }

  /** A local notice in the panel's colours (not server output). */
  notice(text: string, color: 'yellow' | 'red' | 'cyan' | 'green' = 'yellow'): void {
    const code = { yellow: 33, red: 31, cyan: 36, green: 32 }[color]
    this.term.writeln(`\x1b[1;${code}m[wirehub]\x1b[0m \x1b[${code}m${text}\x1b[0m`)
  }

  clear(): void {
    this.term.clear()
  }

  text(): string {
    const buf = this.term.buffer.active
    const lines: string[] = []
    for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i)?.translateToString(true) ?? '')
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
