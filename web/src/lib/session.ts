/**
 * The signed-in session: the user, and the SDK client (packages/client) that owns the sockets —
 * one channels socket shared by every view for the whole session, console sockets per console
 * view. The client authenticates with the browser session cookie (no API key).
 */
import { WirehubClient } from '../../../packages/client/src/client.js'
import type { ChannelsSocket } from '../../../packages/client/src/channels.js'
import type { ConsoleSocket } from '../../../packages/client/src/console.js'
import type { DeviceCommands } from '../../../packages/client/src/commands.js'
import { api, type Item, type User } from './api.js'

export class Session {
  private readonly client = new WirehubClient({ backoff: { baseMs: 500, capMs: 15_000 } })

  constructor(readonly user: User) {}

  /** The session's channels socket (subscriptions survive reconnects; alerts are caught up). */
  get channels(): ChannelsSocket {
    return this.client.channels()
  }

  /** Device commands: send, list, cancel over REST; state changes over the channels socket. */
  get commands(): DeviceCommands {
    return this.client.commands
  }

  openConsole(serverId: string): ConsoleSocket {
    return this.client.console(serverId)
  }

  close(): void {
    this.client.close()
  }
}

/** The current user if the session cookie is still valid, else null. */
export async function currentUser(): Promise<User | null> {
  try {
    return (await api.get<Item<User>>('/api/client/account')).attributes
  } catch {
    return null
  }
}

export async function login(email: string, password: string): Promise<User> {
  return (await api.post<Item<User>>('/api/auth/login', { email, password })).attributes
}

export async function logout(): Promise<void> {
  await api.post('/api/auth/logout').catch(() => {})
}
