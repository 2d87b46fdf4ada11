/**
 * Entry point: read config, check what an operator must fix before anything is created (the port
 * is free, the data folder writable), build the app, listen, print the first start's credentials
 * once listening, and shut down gracefully on SIGTERM/SIGINT (stop accepting, finish in-flight
 * work, close the database, exit 0 within SHUTDOWN_TIMEOUT). A problem the operator can fix is one
 * line on stderr, without a stack.
 */
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config/config.js'
import { DataDirLockedError } from './db/data-dir-lock.js'
import { writeAfterLogs } from './lib/logger.js'
import { StartupError, checkDataDir, checkPortFree, listenFailure } from './lib/startup-errors.js'
import { credentialsBlock, type AdminCredentials } from './modules/users/bootstrap-admin.js'

function fail(message: string, code: number): never {
  process.stderr.write(`wirehub: ${message}\n`)
  process.exit(code)
}

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
  let credentials: AdminCredentials | undefined
  try {
    checkDataDir(config.DATA_DIR)
    await checkPortFree(config.HOST, config.PORT)
    app = await buildApp(config, { onAdminCreated: (c) => void (credentials = c) })
  } catch (err) {
    if (err instanceof StartupError) fail(err.message, err.exitCode)
    if (err instanceof DataDirLockedError) fail(err.message, 75) // EX_TEMPFAIL
    fail(`failed to start: ${(err as Error).stack ?? String(err)}`, 1)
  }
  try {
    await app.listen({ host: config.HOST, port: config.PORT })
  } catch (err) {
    // Lost the race for the port after the check: the administrator may just have been created,
    // and its generated credentials are printed all the same (a later start would not show them).
    if (credentials) process.stdout.write(credentialsBlock(credentials, config.publicUrl))
    const code = (err as NodeJS.ErrnoException).code
    fail(code ? listenFailure(config.HOST, config.PORT, err as NodeJS.ErrnoException).message : `failed to start: ${(err as Error).stack ?? String(err)}`, 69)
  }
  app.log.info({ ms: Math.round(performance.now() - started), url: config.publicUrl, embedded: config.embedded }, 'wirehub started')
  if (credentials) writeAfterLogs(app.log, credentialsBlock(credentials, config.publicUrl))

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
