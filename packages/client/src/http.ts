/**
 * The REST side of the client: credential endpoints and the alert catch-up list. Authenticates
 * with `Authorization: Bearer <client key>` or, without a key (browser dashboard), with the
 * session cookie (`credentials: 'include'`) plus the double-submit CSRF header read from the
 * script-readable `wirehub_csrf` cookie.
 */

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>

/** The `{data:{token,socket}}` body of both credential endpoints. */
export interface SocketCredentials {
  token: string
  /** Absolute `ws(s)://` URL of the socket to open. */
  socket: string
}

export const CSRF_COOKIE = 'wirehub_csrf'
export const CSRF_HEADER = 'X-CSRF-Token'

/** A REST failure with the HTTP status and the first Pterodactyl error's code and detail. */
export class WirehubHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'WirehubHttpError'
  }

  /**
   * True when asking again cannot succeed (bad key, forbidden, unknown server, suspended), so
   * the socket gives up instead of retrying. 408, 429 and 5xx are worth retrying.
   */
  get terminal(): boolean {
    return this.status >= 400 && this.status < 500 && this.status !== 408 && this.status !== 429
  }
}

export interface RestOptions {
  baseUrl: string
  apiKey?: string | undefined
  fetch: FetchLike
  /** Reads a cookie by name (browser session mode); defaults to `document.cookie`. */
  readCookie?: ((name: string) => string | undefined) | undefined
}

export function readDocumentCookie(name: string): string | undefined {
  const doc = (globalThis as { document?: { cookie?: string } }).document
  if (!doc || typeof doc.cookie !== 'string') return undefined
  for (const part of doc.cookie.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim())
  }
  return undefined
}

export class Rest {
  readonly baseUrl: string

  constructor(private readonly opts: RestOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '')
  }

  /** GET/POST a JSON endpoint; throws WirehubHttpError on a non-2xx answer. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' }
    const init: RequestInit = { method, headers }
    if (body !== undefined) {
      headers['content-type'] = 'application/json'
      init.body = JSON.stringify(body)
    }
    if (this.opts.apiKey) {
      headers.authorization = `Bearer ${this.opts.apiKey}`
    } else {
      init.credentials = 'include'
      const csrf = (this.opts.readCookie ?? readDocumentCookie)(CSRF_COOKIE)
      if (csrf) headers[CSRF_HEADER] = csrf
    }
    const res = await this.opts.fetch(this.baseUrl + path, init)
    const text = await res.text()
    let json: unknown = undefined
    if (text) {
      try {
        json = JSON.parse(text)
      } catch {
        json = undefined
      }
    }
    if (!res.ok) {
      const first = (json as { errors?: Array<{ code?: string; detail?: string }> } | undefined)?.errors?.[0]
      throw new WirehubHttpError(res.status, first?.code ?? `http_${res.status}`, first?.detail ?? `${method} ${path} answered ${res.status}`)
    }
    return json as T
  }

  async credentials(path: string): Promise<SocketCredentials> {
    const body = await this.request<{ data?: Partial<SocketCredentials> }>('GET', path)
    const data = body?.data
    if (!data || typeof data.token !== 'string' || typeof data.socket !== 'string') {
      throw new WirehubHttpError(502, 'bad_credentials_body', `${path} did not return {data:{token,socket}}`)
    }
    return { token: data.token, socket: data.socket }
  }

  /** Resolves a path or URL against the base URL, turning http(s) into ws(s). */
  socketUrl(pathOrUrl: string): string {
    const u = new URL(pathOrUrl, this.baseUrl + '/')
    if (u.protocol === 'http:') u.protocol = 'ws:'
    else if (u.protocol === 'https:') u.protocol = 'wss:'
    return u.toString()
  }
}
