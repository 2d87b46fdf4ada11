#!/usr/bin/env node
/**
 * wirehub's demo game server: a plain Node script (no dependencies) that behaves enough like a
 * Minecraft-style server to exercise a console. It prints start-up logs, a
 * `Done (x.xxxs)! For help, type "help"` line, a log line every DEMO_TICK_MS, and answers
 * `help`, `list`, `say <text>`, `stop` (exits 0) on stdin.
 *
 * Test switches (flags or environment variables):
 *   --flood=N      / DEMO_FLOOD=N       print N lines at once after "Done" (output throttle)
 *   --alloc-mb=N   / DEMO_ALLOC_MB=N    allocate and touch N MiB after "Done" (memory limit)
 *   --crash-after=MS / DEMO_CRASH_AFTER_MS=MS  exit with code 1 MS ms after "Done"
 *   --ignore-stop  / DEMO_IGNORE_STOP=1 ignore `stop` and SIGTERM (stop timeout, power lock)
 *   --boot-ms=MS   / DEMO_BOOT_MS=MS    time between start-up logs and "Done" (default 300)
 *   DEMO_TICK_MS (default 5000): period of the periodic log line; 0 disables it.
 * Console commands `crash`, `alloc <MiB>` and `flood <N>` do the same at run time.
 */
import { createInterface } from 'node:readline'

const argv = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=')
    return [k, v ?? '1']
  }),
)
const opt = (flag, env, def) => argv.get(flag) ?? process.env[env] ?? def

const bootMs = Number(opt('boot-ms', 'DEMO_BOOT_MS', '300'))
const tickMs = Number(opt('tick-ms', 'DEMO_TICK_MS', '5000'))
const flood = Number(opt('flood', 'DEMO_FLOOD', '0'))
const allocMb = Number(opt('alloc-mb', 'DEMO_ALLOC_MB', '0'))
const crashAfter = Number(opt('crash-after', 'DEMO_CRASH_AFTER_MS', '-1'))
const ignoreStop = opt('ignore-stop', 'DEMO_IGNORE_STOP', '0') === '1'

const started = process.hrtime.bigint()
const players = ['Steve', 'Alex']
const hog = []
let tick = 0

const ts = () => new Date().toTimeString().slice(0, 8)
const log = (text, level = 'INFO', thread = 'Server thread') => process.stdout.write(`[${ts()}] [${thread}/${level}]: ${text}\n`)

function allocate(mb) {
  for (let i = 0; i < mb; i++) {
    const b = Buffer.alloc(1024 * 1024, 1) // filled, so the pages are resident
    hog.push(b)
  }
  log(`Allocated ${mb} MiB (total ${hog.length} MiB)`)
}

function floodLines(n) {
  const parts = []
  for (let i = 0; i < n; i++) parts.push(`[${ts()}] [Flood/INFO]: flood line ${i}\n`)
  process.stdout.write(parts.join(''))
}

function stop() {
  if (ignoreStop) {
    log('Ignoring stop request', 'WARN')
    return
  }
  log('Stopping the server')
  log('Saving worlds')
  process.stdout.write('', () => process.exit(0))
}

log('Starting minecraft server version 1.20.4 (wirehub demo)')
log('Loading properties')
log('Default game type: SURVIVAL')
log('Starting Minecraft server on *:25565')
log('Preparing level "world"', 'INFO', 'Worker-Main-1')

setTimeout(() => {
  const secs = Number(process.hrtime.bigint() - started) / 1e9
  log(`Done (${secs.toFixed(3)}s)! For help, type "help"`)
  if (flood > 0) floodLines(flood)
  if (allocMb > 0) allocate(allocMb)
  if (crashAfter >= 0) {
    setTimeout(() => {
      process.stderr.write(`[${ts()}] [Server thread/ERROR]: Encountered an unexpected exception\n`)
      process.exit(1)
    }, crashAfter)
  }
  if (tickMs > 0) {
    setInterval(() => {
      tick++
      log(`Autosave #${tick}: saved the game`)
    }, tickMs)
  }
}, bootMs)

const rl = createInterface({ input: process.stdin })
rl.on('line', (raw) => {
  const line = raw.trim()
  const [cmd, ...rest] = line.split(/\s+/)
  switch (cmd) {
    case '':
      return
    case 'help':
      log('Available commands: help, list, say <text>, stop')
      return
    case 'list':
      log(`There are ${players.length} of a max of 20 players online: ${players.join(', ')}`)
      return
    case 'say':
      log(`[Server] ${rest.join(' ')}`)
      return
    case 'stop':
      stop()
      return
    case 'crash':
      process.stderr.write(`[${ts()}] [Server thread/ERROR]: crash requested\n`)
      process.exit(1)
      return
    case 'alloc':
      allocate(Number(rest[0] ?? 64))
      return
    case 'flood':
      floodLines(Number(rest[0] ?? 10000))
      return
    default:
      log('Unknown command. Type "help" for help.')
  }
})
// stdin closed (the supervisor went away): stop like a real server would.
rl.on('close', () => {
  if (!ignoreStop) process.exit(0)
})

process.on('SIGTERM', () => {
  if (ignoreStop) log('Ignoring SIGTERM', 'WARN')
  else stop()
})
process.on('SIGINT', () => stop())
