/**
 * Entry point: read config, build the app, listen, and shut down gracefully on SIGTERM/SIGINT
 * (stop accepting, finish in-flight work, close the database, exit 0 within SHUTDOWN_TIMEOUT).
 */
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config/config.js'
import { DataDirLockedError } from './db/data-dir-lock.js'

async function main() {
  let config
  try {
    config = loadConfig({ argv: process.argv.slice(2) })
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`wirehub: ${err.message}\n`)
      process.exit(78) // EX_CONFIG
    }
    throw err
  }

  const started = performance.now()
  let app
  try {
    app = await buildApp(config)
    await app.listen({ host: config.HOST, port: config.PORT })
  } catch (err) {
    if (err instanceof DataDirLockedError) {
      process.stderr.write(`wirehub: ${err.message}\n`)
      process.exit(75) // EX_TEMPFAIL
    }
    process.stderr.write(`wirehub: failed to start: ${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  }
  app.log.info({ ms: Math.round(performance.now() - started), url: config.publicUrl, embedded: config.embedded }, 'wirehub started')

  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    app.log.info({ signal }, 'shutting down')
    const timer = setTimeout(() => {
      app.log.error('shutdown timed out; exiting')
      process.exit(1)
    }, config.SHUTDOWN_TIMEOUT * 1000)
    timer.unref()
    try {
      await app.close()
      process.exit(0)
    } catch (err) {
      app.log.error({ err }, 'error during shutdown')
      process.exit(1)
    }
  }
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))
}

void main()
