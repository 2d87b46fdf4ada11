/**
 * `npm run admin:reset-password -- <email>` (`node dist/admin-reset-password.js <email>` in the
 * image): sets a new password for a user from the server's shell — the way back for an administrator who lost theirs or missed the one-time credentials
 * printed at first start. It prints a new random password once, or reads one from standard input
 * with `--stdin` (`echo '…' | npm run admin:reset-password -- <email> --stdin`). Every browser
 * session of the user ends (a running server notices within its 30 s session cache).
 *
 * Same configuration as the server (environment, `.env`, `--config <file>`): PostgreSQL through
 * DATABASE_URL, otherwise the embedded database in DATA_DIR, which is locked while a server runs
 * on it — stop that server first. Exit codes: 0 done, 1 failure, 2 usage, 3 unknown email.
 */
import { loadConfig } from './config/config.js'
import { openDatabase } from './db/database.js'
import { DomainEvents } from './lib/domain-events.js'
import { generatePassword } from './modules/auth/password.js'
import { createUsersService } from './modules/users/users.service.js'

const USAGE = 'usage: npm run admin:reset-password -- <email> [--stdin]'

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}

async function main(): Promise<number> {
  const args = process.argv.slice(2)
  const email = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--config')?.trim().toLowerCase()
  if (!email || !email.includes('@')) {
    process.stderr.write(`${USAGE}\n`)
    return 2
  }
  const password = args.includes('--stdin') ? await readStdin() : generatePassword()
  if (password.length < 8 || password.length > 512) {
    process.stderr.write('the new password must have 8 to 512 characters\n')
    return 2
  }
  const config = loadConfig({ argv: args })
  const db = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: 1 })
  try {
    const user = await db.prisma.user.findUnique({ where: { email } })
    if (!user) {
      process.stderr.write(`no user with the email ${email}\n`)
      return 3
    }
    await createUsersService({ prisma: db.prisma, events: new DomainEvents() }).update(String(user.id), { password })
    process.stdout.write(`password of ${user.email}${user.rootAdmin ? ' (administrator)' : ''} reset; every browser session of the user ended\n`)
    if (!args.includes('--stdin')) process.stdout.write(`new password (shown once): ${password}\n`)
    return 0
  } finally {
    await db.close()
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`admin:reset-password failed: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  },
)
