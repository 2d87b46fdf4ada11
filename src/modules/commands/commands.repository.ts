/**
 * The `device_commands` table. Every state change is one compare-and-set statement (`where
 * state = … [and owner = …]`), so when several instances share the database exactly one of them
 * wins each step and publishes it; the others get no row back and do nothing.
 */
import type { Database } from '../../db/database.js'
import type { CommandState } from './commands.schemas.js'

export interface CommandRow {
  id: number
  device_id: number
  created_by: number | null
  method: string
  params: unknown
  state: CommandState
  result: unknown
  error: string | null
  timeout_sec: number
  owner: string | null
  transport: 'mqtt' | 'http' | null
  created_at: Date
  sent_at: Date | null
  delivered_at: Date | null
  completed_at: Date | null
  expires_at: Date
}

const COLUMNS = 'id, device_id, created_by, method, params, state, result, error, timeout_sec, owner, transport, created_at, sent_at, delivered_at, completed_at, expires_at'

export function createCommandsRepository(db: Database) {
  const one = async (sql: string, params: unknown[]): Promise<CommandRow | null> => (await db.query<CommandRow>(sql, params))[0] ?? null

  return {
    insert(c: { deviceId: number; createdBy: number | null; method: string; params: unknown; timeoutSec: number }): Promise<CommandRow | null> {
      return one(
        `insert into device_commands (device_id, created_by, method, params, timeout_sec, expires_at)
         values ($1, $2, $3, $4::jsonb, $5::int, now() + make_interval(secs => $5::int)) returning ${COLUMNS}`,
        [c.deviceId, c.createdBy, c.method, JSON.stringify(c.params), c.timeoutSec],
      )
    },

    get(deviceId: number, id: number): Promise<CommandRow | null> {
      return one(`select ${COLUMNS} from device_commands where id = $1 and device_id = $2`, [id, deviceId])
    },

    /** Newest first. */
    list(deviceId: number, q: { state?: CommandState | undefined; before?: number | undefined; limit: number }): Promise<CommandRow[]> {
      return db.query<CommandRow>(
        `select ${COLUMNS} from device_commands
          where device_id = $1 and ($2::text is null or state = $2) and ($3::int is null or id < $3)
          order by id desc limit $4`,
        [deviceId, q.state ?? null, q.before ?? null, q.limit],
      )
    },

    /** QUEUED → SENT for every live command of the device, oldest first, owned by `owner`. */
    claim(deviceId: number, owner: string, transport: 'mqtt' | 'http'): Promise<CommandRow[]> {
      return db.query<CommandRow>(
        `update device_commands set state = 'SENT', owner = $2, transport = $3, sent_at = now()
          where id in (select id from device_commands where device_id = $1 and state = 'QUEUED' and expires_at > now()
                        order by id for update skip locked)
          returning ${COLUMNS}`,
        [deviceId, owner, transport],
      ).then((rows) => rows.sort((a, b) => a.id - b.id))
    },

    /**
     * SENT → QUEUED for commands of the device that were sent over a connection other than
     * `keepOwner` (or over `owner` exactly), unacknowledged: that connection is gone.
     */
    requeue(deviceId: number, match: { owner: string } | { notOwner: string }): Promise<CommandRow[]> {
      const byOwner = 'owner' in match
      return db.query<CommandRow>(
        `update device_commands set state = 'QUEUED', owner = null
          where device_id = $1 and state = 'SENT' and expires_at > now() and ${byOwner ? 'owner = $2' : 'owner is distinct from $2'}
          returning ${COLUMNS}`,
        [deviceId, byOwner ? match.owner : match.notOwner],
      )
    },

    /**
     * SENT → DELIVERED: the device acknowledged it. Also from QUEUED: a device that answers a
     * command put back in the queue (its connection dropped before the acknowledgement) has it.
     */
    delivered(deviceId: number, id: number): Promise<CommandRow | null> {
      return one(
        `update device_commands set state = 'DELIVERED', delivered_at = now(), sent_at = coalesce(sent_at, now())
          where id = $1 and device_id = $2 and state in ('SENT', 'QUEUED') and expires_at > now() returning ${COLUMNS}`,
        [id, deviceId],
      )
    },

    /** DELIVERED → SUCCEEDED | FAILED. */
    finish(deviceId: number, id: number, outcome: { result: unknown } | { error: string }): Promise<CommandRow | null> {
      const ok = 'result' in outcome
      return one(
        `update device_commands set state = $3, result = $4::jsonb, error = $5, completed_at = now()
          where id = $1 and device_id = $2 and state = 'DELIVERED' and expires_at > now() returning ${COLUMNS}`,
        [id, deviceId, ok ? 'SUCCEEDED' : 'FAILED', ok ? JSON.stringify(outcome.result ?? null) : null, ok ? null : outcome.error],
      )
    },

    cancel(deviceId: number, id: number): Promise<CommandRow | null> {
      return one(
        `update device_commands set state = 'CANCELLED', completed_at = now(), owner = null
          where id = $1 and device_id = $2 and state in ('QUEUED', 'SENT', 'DELIVERED') returning ${COLUMNS}`,
        [id, deviceId],
      )
    },

    /** Every open command past its expiry → EXPIRED (each row is returned to one instance only). */
    expire(limit = 1000): Promise<CommandRow[]> {
      return db.query<CommandRow>(
        `update device_commands set state = 'EXPIRED', completed_at = now(), owner = null,
                error = 'No result within ' || timeout_sec || ' seconds (was ' || state || ').'
          where id in (select id from device_commands where state in ('QUEUED', 'SENT', 'DELIVERED') and expires_at <= now()
                        order by expires_at limit $1 for update skip locked)
          returning ${COLUMNS}`,
        [limit],
      )
    },

    /** Which of these devices have queued, live commands. */
    async devicesWithQueued(deviceIds: number[]): Promise<number[]> {
      if (deviceIds.length === 0) return []
      const rows = await db.query<{ device_id: number }>(
        `select distinct device_id from device_commands where state = 'QUEUED' and expires_at > now() and device_id = any($1::int[])`,
        [deviceIds],
      )
      return rows.map((r) => r.device_id)
    },
  }
}

export type CommandsRepository = ReturnType<typeof createCommandsRepository>
