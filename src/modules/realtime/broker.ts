/**
 * The broker carries publications between publishers and hubs. In one process the memory broker
 * hands them straight to the local hub; the Redis broker (scale-out) also ships them to other
 * instances. The hub asks the broker to follow a topic only while it has local subscribers, so
 * an instance with no interested clients costs nothing per message.
 */
import type { Lane } from './connection.js'

export interface Publication {
  /** Every topic this message is for; a connection subscribed to several gets it once. */
  topics: string[]
  /** Name of the registered codec that turns `payload` into frames. */
  codec: string
  /** JSON-serialisable domain payload (it may cross the Redis backplane). */
  payload: unknown
  lane: Lane
  /** For droppable messages: messages with the same key replace each other when collapsed. */
  collapseKey?: string
  /** Epoch ms when it was published (set by the hub when fan-out latency is measured). */
  publishedAt?: number
}

export interface Broker {
  /** Called once by the hub with the function that delivers to local subscribers. */
  attach(deliver: (pub: Publication) => void): void
  publish(pub: Publication): void
  /** The hub gained its first local subscriber to `topic`. */
  follow(topic: string): void
  /** The hub lost its last local subscriber to `topic`. */
  unfollow(topic: string): void
  close(): Promise<void>
}

export class MemoryBroker implements Broker {
  private deliver: (pub: Publication) => void = () => {}

  attach(deliver: (pub: Publication) => void): void {
    this.deliver = deliver
  }

  publish(pub: Publication): void {
    this.deliver(pub)
  }

  follow(): void {}
  unfollow(): void {}
  async close(): Promise<void> {}
}
