/**
 * A console socket resuming after a reconnect (`send logs since <seq>`): the logged lines after
 * `seq` are replayed in order, then `subscribe` puts the socket back on the live stream. The last
 * part is read from the in-memory tail and `subscribe` is called in the SAME synchronous run, and
 * lines enter the tail and the live stream in one synchronous step too, so nothing falls between
 * the replay and the stream and nothing comes twice. At most `max` lines are replayed (the newest); a skipped
 * older part is announced in one daemon line without a number.
 */
import { daemonLine } from './console-buffer.js'
import { consoleLine } from './console.codec.js'
import type { ServersService } from './servers.service.js'

/** Sends the replay through `send` (false: the socket is gone), then calls `subscribe`. */
export async function replaySince(
  service: Pick<ServersService, 'history' | 'since'>,
  uuid: string,
  after: number,
  max: number,
  send: (text: string) => boolean,
  subscribe: () => void,
): Promise<boolean> {
  const newest = service.history(uuid, 1)[0]?.seq ?? after
  let last = after
  if (newest - after > max) {
    last = newest - max
    if (!send(JSON.stringify(consoleLine(daemonLine(`${last - after} older console lines are not replayed; the whole log is in the panel's log download.`))))) return false
  }
  for (const l of await service.since(uuid, last, max)) {
    if (!send(JSON.stringify(consoleLine(l.text, l.seq)))) return false
    last = l.seq
  }
  // Synchronous from here through `subscribe`: the lines logged during the await above.
  for (const l of service.history(uuid, Number.MAX_SAFE_INTEGER)) {
    if (l.seq <= last) continue
    if (!send(JSON.stringify(consoleLine(l.text, l.seq)))) return false
    last = l.seq
  }
  subscribe()
  return true
}
