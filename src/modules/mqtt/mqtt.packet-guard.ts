/**
 * A bound on MQTT packet size before a packet is buffered: the scanner follows the byte stream
 * from one fixed header (type byte, then the variable-length "remaining length") to the next,
 * so a CONNECT or PUBLISH announcing more than the limit closes the connection after a few
 * bytes instead of after megabytes (the embedded broker would otherwise buffer up to 256 MB).
 */
import { Duplex } from 'node:stream'
import type { Socket } from 'node:net'

export class PacketLengthScanner {
  private state: 'type' | 'length' | 'body' = 'type'
  private remaining = 0
  private length = 0
  private multiplier = 1
  private lengthBytes = 0

  constructor(private readonly maxBytes: number) {}

  /** Follows `chunk`; returns null while every packet fits, else the announced size (-1: malformed). */
  feed(chunk: Buffer): number | null {
    let i = 0
    while (i < chunk.length) {
      if (this.state === 'body') {
        const take = Math.min(this.remaining, chunk.length - i)
        this.remaining -= take
        i += take
        if (this.remaining === 0) this.state = 'type'
        continue
      }
      if (this.state === 'type') {
        i++
        this.state = 'length'
        this.length = 0
        this.multiplier = 1
        this.lengthBytes = 0
        continue
      }
      const b = chunk[i++]!
      this.length += (b & 0x7f) * this.multiplier
      this.multiplier *= 128
      this.lengthBytes++
      if (b & 0x80) {
        if (this.lengthBytes >= 4) return -1
        continue
      }
      const total = 1 + this.lengthBytes + this.length
      if (total > this.maxBytes) return total
      this.remaining = this.length
      this.state = this.remaining === 0 ? 'type' : 'body'
    }
    return null
  }
}

/**
 * The socket seen through the scanner, as the stream the broker reads and writes. Back-pressure
 * passes through both ways (the socket pauses while the broker is behind).
 */
export function guardPacketSize(socket: Socket, maxBytes: number, onTooBig: (size: number) => void): Duplex {
  const scanner = new PacketLengthScanner(maxBytes)
  const guarded = new Duplex({
    read() {
      socket.resume()
    },
    write(chunk: Buffer, _enc, cb) {
      if (socket.destroyed) return cb(new Error('socket closed'))
      socket.write(chunk, cb)
    },
    final(cb) {
      socket.end(cb)
    },
    destroy(err, cb) {
      socket.destroy()
      cb(err)
    },
  })
  socket.on('data', (chunk: Buffer) => {
    const bad = scanner.feed(chunk)
    if (bad !== null) {
      onTooBig(bad)
      guarded.destroy()
      return
    }
    if (!guarded.push(chunk)) socket.pause()
  })
  socket.on('end', () => guarded.push(null))
  socket.on('error', (err) => guarded.destroy(err))
  socket.on('close', () => guarded.destroy())
  return guarded
}
