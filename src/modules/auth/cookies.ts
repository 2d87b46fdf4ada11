/**
 * The dashboard's cookies. The session cookie is http-only and SameSite=Lax; writes made with it
 * must also echo the (script-readable, SameSite=Strict) CSRF cookie in the X-CSRF-Token header
 * (double submit), which a cross-site page cannot read.
 */
import { timingSafeEqual } from 'node:crypto'

export const SESSION_COOKIE = 'wirehub_session'
export const CSRF_COOKIE = 'wirehub_csrf'
export const CSRF_HEADER = 'x-csrf-token'
export const CSRF_REFUSED = 'CSRF token missing or invalid; send the wirehub_csrf cookie value in the X-CSRF-Token header.'

export function csrfMatches(cookie: string | undefined, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || !cookie || header.length !== cookie.length) return false
  return timingSafeEqual(Buffer.from(header), Buffer.from(cookie))
}
