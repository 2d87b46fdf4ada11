/** What every page of the dashboard provides to the router. */
import type { Session } from '../lib/session.js'

export interface ViewContext {
  session: Session
  /** Sets the header's title (and the document title). */
  setTitle(title: string, crumbs?: Array<{ label: string; href: string }>): void
  /** Navigates to a hash route such as `#/servers`. */
  go(hash: string): void
}

export interface View {
  el: HTMLElement
  /** Called when the view is left: close sockets, stop timers, destroy charts. */
  dispose?(): void
}

export type ViewFactory = (ctx: ViewContext, params: string[]) => View
