/**
 * A minimal typed event emitter (no dependency on Node's `events`, so it runs in browsers).
 * `on` returns the function that removes the handler. A handler that throws does not stop the
 * others; the error goes to the `onHandlerError` hook (by default re-thrown asynchronously so it
 * surfaces like any uncaught error instead of vanishing).
 */
export type Handler<T> = (value: T) => void
export type Off = () => void

export class Emitter<Events extends { [K in keyof Events]: unknown }> {
  private readonly handlers = new Map<keyof Events, Set<Handler<never>>>()

  constructor(private readonly onHandlerError: (err: unknown) => void = rethrowLater) {}

  on<K extends keyof Events>(event: K, handler: Handler<Events[K]>): Off {
    let set = this.handlers.get(event)
    if (!set) this.handlers.set(event, (set = new Set()))
    set.add(handler as Handler<never>)
    return () => {
      set.delete(handler as Handler<never>)
    }
  }

  emit<K extends keyof Events>(event: K, value: Events[K]): void {
    const set = this.handlers.get(event)
    if (!set) return
    for (const h of [...set]) {
      try {
        ;(h as Handler<Events[K]>)(value)
      } catch (err) {
        this.onHandlerError(err)
      }
    }
  }

  listenerCount(event: keyof Events): number {
    return this.handlers.get(event)?.size ?? 0
  }

  clear(): void {
    this.handlers.clear()
  }
}

function rethrowLater(err: unknown): void {
  queueMicrotask(() => {
    throw err
  })
}
