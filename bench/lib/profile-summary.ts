/**
 * `tsx bench/lib/profile-summary.ts <file.cpuprofile> [top] [skipMs] [filter]`: self time per function
 * and per file of a V8 CPU profile (from `BENCH_CPU_PROF=<dir> npm run bench …`), to find what
 * limits wirehub when a target is missed, then inclusive time (the function and everything it
 * called) of the functions whose location contains `filter` (default `src/`: wirehub's own code),
 * which is where a path's cost adds up. `skipMs` ignores the first samples (start-up, module loading).
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const [file, topArg, skipArg] = process.argv.slice(2)
if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]')
const top = Number(topArg ?? 25)
const filter = process.argv[5] ?? 'src/'
const skipUs = Number(skipArg ?? 0) * 1000
const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(prof.nodes.map((n) => [n.id, n]))
const parent = new Map<number, number>()
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const selfUs = new Map<number, number>()
let at = 0
prof.samples.forEach((id, i) => {
  const dt = prof.timeDeltas[i] ?? 0
  at += dt
  if (at >= skipUs) selfUs.set(id, (selfUs.get(id) ?? 0) + dt)
})
const total = [...selfUs.values()].reduce((a, b) => a + b, 0)
const fn = new Map<string, number>()
const url = new Map<string, number>()
for (const [id, us] of selfUs) {
  const n = byId.get(id)!
  const short = n.callFrame.url.replace(/^.*node_modules\//, '~/').replace(/^file:\/\/.*\/src\//, 'src/')
  const k = `${n.callFrame.functionName || '(anonymous)'} ${short}:${n.callFrame.lineNumber + 1}`
  fn.set(k, (fn.get(k) ?? 0) + us)
  const pkg = short.startsWith('~/') ? short.split('/').slice(0, short.startsWith('~/@') ? 3 : 2).join('/') : short || '(native/vm)'
  url.set(pkg, (url.get(pkg) ?? 0) + us)
}
const show = (m: Map<string, number>, title: string) => {
  process.stdout.write(`\n${title} (total ${(total / 1e6).toFixed(2)} s)\n`)
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}\n`)
}
const keyOf = (n: ProfileNode) => {
  const short = n.callFrame.url.replace(/^.*node_modules\//, '~/').replace(/^file:\/\/.*\/src\//, 'src/')
  return `${n.callFrame.functionName || '(anonymous)'} ${short}:${n.callFrame.lineNumber + 1}`
}
// Inclusive: each sample's time counts once for every distinct matching function on its stack.
const inclusive = new Map<string, number>()
for (const [id, us] of selfUs) {
  const seen = new Set<string>()
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = keyOf(byId.get(cur)!)
    if (k.includes(filter) && !seen.has(k)) {
      seen.add(k)
      inclusive.set(k, (inclusive.get(k) ?? 0) + us)
    }
  }
}
show(url, 'self time by file/package')
show(fn, 'self time by function')
show(inclusive, `inclusive time of functions in ${filter}`)
