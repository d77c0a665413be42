// Request body limits per route, enforced while the body streams in and before anything parses it (the CSRF
// check included): an ordinary form gets FORM_LIMIT; an upload route gets more only for the people who may
// upload there, and a server-to-server endpoint only what its messages need.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Context, MiddlewareHandler } from 'hono'
import { getCookie } from 'hono/cookie'
import type { Env } from './http.ts'
import { render } from './render.ts'
import { lookupSession, SESSION_COOKIE } from './session.ts'

/**
 * Every ordinary form. Most are under 2 KB; the largest (an application: a 2,000-character note, a
 * 1,000-character description and a dozen short fields) reaches about 20 KB urlencoded only if every
 * character is an accented letter (6 bytes once encoded). 32 KB covers that, while a thousand requests held
 * at once cost 32 MB.
 */
export const FORM_LIMIT = 32 * 1024

export interface BodyRule {
  /** matched against the decoded path; for 'staff', the first group is the tenant's slug */
  path: RegExp
  /** the most this route accepts, multipart overhead included */
  limit: number
  /**
   * who gets `limit`: 'machine' for server-to-server endpoints (anyone: they authenticate by signature, and
   * a refusal is plain text); 'user' for any signed-in person; 'staff' for a member of the path's tenant.
   * Everybody else gets FORM_LIMIT.
   */
  who: 'machine' | 'user' | 'staff'
  /** the feature's own limit for the file, named on the refusal page to those who may upload */
  fileLimit?: number
}

/**
 * Memory held by uploads larger than a form, process-wide and per account: a body is read into memory whole
 * (the features parse it from there), so without a bound a few people uploading at once could take the heap
 * of the instance (and, on the embedded default, the database it holds). An upload reserves its route's
 * limit (or its declared length, if smaller) before a byte is read and gives it back when the request ends;
 * one that does not fit is answered 503 with Retry-After, before it is read.
 */
export class UploadBudget {
  private used = 0
  private readonly perAccount = new Map<string, number>()
  constructor(
    /** bytes all large uploads in flight may hold together */
    readonly bytes: number,
    /** large uploads one account may have in flight at once */
    readonly uploadsPerAccount = 2,
  ) {}

  /** Reserves `bytes` for `account`: a release function, or null when it does not fit. */
  reserve(account: string, bytes: number): (() => void) | null {
    const mine = this.perAccount.get(account) ?? 0
    if (mine >= this.uploadsPerAccount || this.used + bytes > this.bytes) return null
    this.used += bytes
    this.perAccount.set(account, mine + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      this.used -= bytes
      const left = (this.perAccount.get(account) ?? 1) - 1
      if (left > 0) this.perAccount.set(account, left)
      else this.perAccount.delete(account)
    }
  }

  /** what is reserved now (for tests and the operator's view) */
  get inUse() {
    return { bytes: this.used, accounts: this.perAccount.size }
  }
}

interface Limit {
  limit: number
  machine: boolean
  fileLimit?: number
  /** the account an upload larger than a form is for (its reservation is made under it) */
  account?: string
}

/** The limit for this request, and whether it is answered as a machine endpoint. */
async function limitFor(c: Context<Env>, rules: BodyRule[], declared: number | null): Promise<Limit> {
  const path = c.req.path
  const rule = rules.find((r) => r.path.test(path))
  if (!rule) return { limit: FORM_LIMIT, machine: false }
  if (rule.who === 'machine') return { limit: rule.limit, machine: true }
  // small enough for anyone: no need to find out who is asking
  if (declared !== null && declared <= FORM_LIMIT) return { limit: FORM_LIMIT, machine: false }
  const account = await mayUpload(c, rule, path)
  if (!account) return { limit: FORM_LIMIT, machine: false }
  return { limit: rule.limit, machine: false, fileLimit: rule.fileLimit, account }
}

/** "10 MB", "200 KB" */
function size(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round(bytes / 1024 / 1024)} MB` : `${Math.round(bytes / 1024)} KB`
}

/**
 * Who may send more than a form here: the account, or null. A 'user' upload needs a proved codice fiscale
 * (the only citizen uploads are an application's attachments, and applications need the proof); a 'staff'
 * upload a membership of the tenant in the path (the role is the route's).
 */
async function mayUpload(c: Context<Env>, rule: BodyRule, path: string): Promise<string | null> {
  const token = getCookie(c, SESSION_COOKIE)
  if (!token) return null
  const { db, config } = c.var.deps
  const user = await lookupSession(db.sql, config.sessionSecret, token)
  if (!user) return null
  if (rule.who === 'user') return user.codiceFiscale ? String(user.accountId) : null
  const slug = rule.path.exec(path)?.[1]
  if (!slug) return null
  const [m] = await db.sql<{ ok: number }[]>`
    select 1 as ok from platform.memberships m join platform.tenants t on t.id = m.tenant_id
    where m.account_id = ${user.accountId} and t.slug = ${slug}`
  return m ? String(user.accountId) : null
}

/** After a refusal, what is still in flight is read and dropped up to this much, then the connection closes. */
const LINGER_BYTES = 1024 * 1024
const LINGER_MS = 250

/**
 * Once the answer is written, drops what the client still sends for a moment and then closes the connection:
 * closing at once would reset it with the body unread, and the client could lose the answer; reading on (the
 * Node adapter would, up to 64 MB) is work for nothing.
 */
function closeSoon(c: Context<Env>) {
  const env = c.env as { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined
  const incoming = env?.incoming
  const outgoing = env?.outgoing
  if (!incoming?.socket || !outgoing) return
  outgoing.once('finish', () => {
    if (incoming.readableEnded) return
    let dropped = 0
    const close = () => {
      clearTimeout(timer)
      incoming.socket?.destroySoon()
    }
    const timer = setTimeout(close, LINGER_MS)
    timer.unref()
    incoming.on('data', (chunk: Buffer) => {
      dropped += chunk.length
      if (dropped > LINGER_BYTES) close()
    })
    incoming.once('end', () => clearTimeout(timer))
    incoming.resume()
  })
}

/** Seconds a client is asked to wait when the upload budget is full. */
const BUSY_RETRY_SECONDS = 10

function busy(c: Context<Env>) {
  closeSoon(c)
  c.header('Retry-After', String(BUSY_RETRY_SECONDS))
  const t = c.var.t
  return render(
    c,
    'errors/error',
    { title: t('errors.uploadBusy'), status: 503, bodyKey: 'errors.uploadBusyBody' },
    503,
  )
}

function tooLarge(c: Context<Env>, machine: boolean, fileLimit?: number) {
  closeSoon(c)
  if (machine) return c.text('Payload Too Large', 413)
  const t = c.var.t
  return render(
    c,
    'errors/error',
    {
      title: t('errors.tooLarge'),
      status: 413,
      bodyKey: 'errors.tooLargeBody',
      detail: fileLimit ? t('errors.tooLargeFile', { size: size(fileLimit) }) : undefined,
    },
    413,
  )
}

/**
 * The body limits, for every method but GET and HEAD (reading the body of a GET makes the Node adapter
 * build a full Request, ~70 µs each): a declared length over the limit is refused before a byte is read;
 * otherwise the body is read up to the limit (with or without Content-Length) and handed on from memory.
 */
export function bodyLimits(rules: BodyRule[], budget: UploadBudget): MiddlewareHandler<Env> {
  return async (c, next) => {
    const method = c.req.method
    if (method === 'GET' || method === 'HEAD') return next()
    const lengthHeader = c.req.header('content-length')
    const chunked = c.req.header('transfer-encoding') !== undefined
    const declared = lengthHeader !== undefined && !chunked ? Number(lengthHeader) : null
    if (declared !== null && !(Number.isSafeInteger(declared) && declared >= 0)) return tooLarge(c, false)
    const { limit, machine, fileLimit, account } = await limitFor(c, rules, declared)
    if (declared !== null && declared > limit) return tooLarge(c, machine, fileLimit)
    const body = c.req.raw.body
    if (!body) return next()
    if (account === undefined || limit <= FORM_LIMIT) return readWithin(c, body, limit, machine, next, fileLimit)
    const release = budget.reserve(account, Math.min(limit, declared ?? limit))
    if (!release) return busy(c)
    try {
      return await readWithin(c, body, limit, machine, next, fileLimit)
    } finally {
      release()
    }
  }
}

/** Reads the body up to `limit` (413 past it) and hands it on from memory. */
async function readWithin(
  c: Context<Env>,
  body: ReadableStream<Uint8Array>,
  limit: number,
  machine: boolean,
  next: () => Promise<void>,
  fileLimit?: number,
): Promise<Response | undefined> {
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    let read: ReadableStreamReadResult<Uint8Array>
    try {
      read = await reader.read()
    } catch {
      // the client went away mid-body: nobody is left to answer, and nothing was handed on
      return c.body(null, 400)
    }
    const { done, value } = read
    if (done) break
    size += value.byteLength
    if (size > limit) {
      reader.cancel().catch(() => {})
      return tooLarge(c, machine, fileLimit)
    }
    chunks.push(value)
  }
  c.req.raw = new Request(c.req.raw, { body: Buffer.concat(chunks, size) })
  await next()
}
