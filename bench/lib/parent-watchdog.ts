/**
 * Preloaded into wirehub's server process (`node --import tsx --import bench/lib/parent-watchdog.ts
 * src/server.ts`) so the server exits if the benchmark harness dies without stopping it.
 */
import { watchParent } from './proc.js'

watchParent()
