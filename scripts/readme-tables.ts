/**
 * Regenerates the tables in README.md that mirror code (close codes, user event types) between
 * their `<!-- name:start -->` / `<!-- name:end -->` markers. `npm run docs:tables` writes them;
 * test/ops/readme.test.ts fails when README.md and the code disagree.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { CLOSE } from '../src/modules/realtime/close-codes.js'
import { eventTypeTableMarkdown } from '../src/modules/user-events/user-events.types.js'

export const README = fileURLToPath(new URL('../README.md', import.meta.url))

export function closeCodesTable(): string {
  return Object.values(CLOSE)
    .map((c) => `| ${c.code} | ${c.reconnect ? 'yes' : 'no'} | ${c.reason}: ${c.meaning} |`)
    .join('\n')
}

export function tables(): Record<string, string> {
  const out: Record<string, string> = { 'close-codes': closeCodesTable() }
  out['user-event-types'] = eventTypeTableMarkdown()
  return out
}

export function fill(readme: string, name: string, body: string): string {
  const re = new RegExp(`(<!-- ${name}:start -->\\n)[\\s\\S]*?(<!-- ${name}:end -->)`)
  return readme.replace(re, `$1${body}\n$2`)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let readme = readFileSync(README, 'utf8')
  for (const [name, body] of Object.entries(tables())) readme = fill(readme, name, body)
  writeFileSync(README, readme)
  process.stdout.write('README tables updated\n')
}
