// Runs `prisma generate` without the native schema engine (this machine cannot download it):
// generate only validates the schema, so the CLI is satisfied by any existing file as the engine
// path. See ../shared/ENVIRONMENT.md. Used by `npm ci` (postinstall) and the Dockerfile.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const env = { ...process.env }
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = fileURLToPath(import.meta.url)
env.PRISMA_HIDE_UPDATE_MESSAGE = '1'
env.CHECKPOINT_DISABLE = '1'
const bin = fileURLToPath(new URL('../node_modules/prisma/build/index.js', import.meta.url))
const res = spawnSync(process.execPath, [bin, 'generate', '--schema', 'prisma/schema.prisma'], {
  env,
  stdio: 'inherit',
  cwd: fileURLToPath(new URL('..', import.meta.url)),
})
process.exit(res.status ?? 1)
