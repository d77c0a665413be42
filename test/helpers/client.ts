// A cookie-keeping client over app.request, filling the CSRF token of the last page into every form post.
import type { Hono } from 'hono'
import type { Env } from '../../src/platform/http.ts'

export class Client {
  cookies = new Map<string, string>()
  lastHtml = ''

  constructor(private app: Hono<Env>) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }

  private keep(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';')
      const [name, ...rest] = (pair as string).split('=')
      const value = rest.join('=')
      const expired = attrs.some((a) => /max-age=0/i.test(a) || /expires=Thu, 01 Jan 1970/i.test(a))
      if (expired || value === '') this.cookies.delete((name as string).trim())
      else this.cookies.set((name as string).trim(), value)
    }
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    const res = await this.app.request(path, { headers: { cookie: this.cookieHeader(), ...headers } })
    this.keep(res)
    if ((res.headers.get('content-type') ?? '').includes('text/html')) {
      this.lastHtml = await res.clone().text()
    }
    return res
  }

  csrf(html = this.lastHtml): string {
    return /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? ''
  }

  /** Posts a form; the CSRF token comes from the last page fetched unless one is given (or null: none). */
  async post(
    path: string,
    form: Record<string, string | string[]>,
    csrf: string | null = this.csrf(),
  ): Promise<Response> {
    const body = new URLSearchParams()
    for (const [k, v] of Object.entries(form)) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x)
    if (csrf !== null) body.set('_csrf', csrf)
    const res = await this.app.request(path, {
      method: 'POST',
      headers: { cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
    })
    this.keep(res)
    if ((res.headers.get('content-type') ?? '').includes('text/html')) this.lastHtml = await res.clone().text()
    return res
  }

  /** Posts a multipart form (file uploads); the CSRF token as for post(). */
  async postMultipart(
    path: string,
    form: Record<string, string | string[]>,
    files: Record<string, { name: string; type: string; bytes: Uint8Array }>,
    csrf: string | null = this.csrf(),
  ): Promise<Response> {
    const body = new FormData()
    if (csrf !== null) body.set('_csrf', csrf)
    for (const [k, v] of Object.entries(form)) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x)
    for (const [k, f] of Object.entries(files))
      body.append(k, new File([new Uint8Array(f.bytes)], f.name, { type: f.type }))
    const res = await this.app.request(path, { method: 'POST', headers: { cookie: this.cookieHeader() }, body })
    this.keep(res)
    if ((res.headers.get('content-type') ?? '').includes('text/html')) this.lastHtml = await res.clone().text()
    return res
  }

  /** GET a page (for its CSRF token), then post the form to the same or another path. */
  async submit(pagePath: string, form: Record<string, string | string[]>, action = pagePath): Promise<Response> {
    await this.get(pagePath)
    return this.post(action, form)
  }
}
