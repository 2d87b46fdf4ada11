import { readFile } from 'node:fs/promises'
import { diffMigrationsToSchema } from '/work/wt/telemetry/src/db/migrator.js'
const schema = await readFile('/work/wt/telemetry/prisma/schema.prisma', 'utf8')
console.log(await diffMigrationsToSchema('/work/wt/telemetry/prisma/migrations', schema))
process.exit(0)
