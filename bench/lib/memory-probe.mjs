/**
 * Bench-only preload in plain JavaScript (so it adds no TypeScript loader to what it measures):
 * `node --expose-gc --import ./bench/lib/memory-probe.mjs dist/server.js`. On SIGUSR2 it runs two
 * full GCs and writes process.memoryUsage(), the V8 heap spaces and, when BENCH_HEAP_SNAPSHOT_DIR
 * holds a file named `take`, a heap snapshot, to the file bench/lib/proc.ts memorySnapshot
 * reads. It also exits when the harness that started it is gone, like watchParent.
 */
import { existsSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import v8 from 'node:v8'

const gc = globalThis.gc
process.on('SIGUSR2', () => {
  if (gc) {
    gc()
    gc()
  }
  const m = process.memoryUsage()
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size]))
  const h = v8.getHeapStatistics()
  const heap = { physical: h.total_physical_size, committed: h.total_heap_size, malloced: h.malloced_memory, peakMalloced: h.peak_malloced_memory }
  // Only when asked for (a file named `take` in the directory): writing a snapshot allocates
  // ~100 MB natively, which would show in any RSS reading taken after it.
  const dir = process.env.BENCH_HEAP_SNAPSHOT_DIR
  const snapshot = dir && existsSync(join(dir, 'take')) ? v8.writeHeapSnapshot(join(dir, `wirehub-${process.pid}.heapsnapshot`)) : null
  writeFileSync(join(tmpdir(), `wirehub-bench-mem-${process.pid}.json`), JSON.stringify({ heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss, spaces, heap, snapshot }))
})

const ppid = Number(process.env.BENCH_PARENT_PID)
if (ppid) {
  setInterval(() => {
    try {
      process.kill(ppid, 0)
    } catch {
      process.exit(0)
    }
  }, 1000).unref()
}
