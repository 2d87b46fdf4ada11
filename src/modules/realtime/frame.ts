/**
 * A message encoded once into a complete websocket text frame (header + payload in one buffer).
 * Writing the same buffer to every recipient's socket skips, per recipient, the UTF-8 encoding,
 * the header allocation and the corked double write that `ws.send(string)` does; that is what
 * lets the hub keep up with a bare `ws` broadcast while doing more work per message.
 */
import { Buffer } from 'node:buffer'

export interface PreparedFrame {
  /** The JSON text, for sockets that cannot take a raw frame (permessage-deflate). */
  readonly text: string
  /** The complete unmasked server-to-client frame: FIN + opcode 1, length, payload. */
  readonly bytes: Buffer
}

export function prepareFrame(text: string): PreparedFrame {
  const len = Buffer.byteLength(text)
  const headerLen = len < 126 ? 2 : len < 65536 ? 4 : 10
  const bytes = Buffer.allocUnsafe(headerLen + len)
  bytes[0] = 0x81 // FIN, text
  if (len < 126) {
    bytes[1] = len
  } else if (len < 65536) {
    bytes[1] = 126
    bytes.writeUInt16BE(len, 2)
  } else {
    bytes[1] = 127
    bytes.writeUInt32BE(Math.floor(len / 2 ** 32), 2)
    bytes.writeUInt32BE(len >>> 0, 6)
  }
  bytes.write(text, headerLen, 'utf8')
  return { text, bytes }
}
