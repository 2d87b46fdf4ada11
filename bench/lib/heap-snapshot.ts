/**
 * Reading V8 heap snapshots (`v8.writeHeapSnapshot`) for the memory figures: self size and count
 * per node type and per object kind (`type: constructor name`), large strings, and the difference
 * between two snapshots of one process divided by the sockets opened in between, which says what
 * each idle socket keeps alive.
 */
import { readFileSync } from 'node:fs'

export interface HeapSummary {
  byType: Map<string, number>
  /** `type: name` (objects, closures, arrays, hidden) → [count, self size]. */
  byKind: Map<string, [number, number]>
  /** Strings of 100 KB or more: first characters and size. */
  bigStrings: Array<[string, number]>
}

export function summarizeSnapshot(file: string): HeapSummary {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }
    nodes: number[]
    strings: string[]
  }
  const f = snap.snapshot.meta.node_fields
  const width = f.length
  const [iType, iName, iSize] = [f.indexOf('type'), f.indexOf('name'), f.indexOf('self_size')]
  const types = snap.snapshot.meta.node_types[0]
  const out: HeapSummary = { byType: new Map(), byKind: new Map(), bigStrings: [] }
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType]!]!
    const size = snap.nodes[i + iSize]!
    out.byType.set(type, (out.byType.get(type) ?? 0) + size)
    if (type === 'string' && size >= 100_000) out.bigStrings.push([snap.strings[snap.nodes[i + iName]!]!.slice(0, 70).replace(/\s+/g, ' '), size])
    if (type === 'object' || type === 'closure' || type === 'array' || type === 'hidden' || type === 'native' || type === 'string') {
      const key = type === 'string' ? 'string' : `${type}: ${snap.strings[snap.nodes[i + iName]!]!.slice(0, 60)}`
      const e = out.byKind.get(key) ?? [0, 0]
      e[0]++
      e[1] += size
      out.byKind.set(key, e)
    }
  }
  out.bigStrings.sort((a, b) => b[1] - a[1])
  return out
}

/** Per-socket growth between two snapshots: `[kind, count per socket, bytes per socket]`, largest first. */
export function perSocketGrowth(before: HeapSummary, after: HeapSummary, sockets: number): Array<[string, number, number]> {
  const rows: Array<[string, number, number]> = []
  for (const [kind, [count, size]] of after.byKind) {
    const [c0, s0] = before.byKind.get(kind) ?? [0, 0]
    rows.push([kind, (count - c0) / sockets, (size - s0) / sockets])
  }
  return rows.sort((a, b) => b[2] - a[2])
}
