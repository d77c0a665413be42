// Email through an outbox: written in the same transaction as the event that causes it, sent by a drainer
// with retries and backoff. Without SMTP_URL (the demo) messages stay readable at /dev/mail.
import type { Transporter } from 'nodemailer'
import type { Config } from '../config.ts'
import type { Sql, Tx } from './db.ts'
import { type Lang, translator } from './i18n.ts'

export interface MailAttachment {
  filename: string
  contentType: string
  /** the content, or, with `render`, nothing: it is made when the mail is sent */
  contentBase64?: string
  /**
   * made when the mail is sent, by the renderer registered under `kind` (registerAttachment), from what is
   * committed by then (`ref`) or from what the queuing transaction put in the message (`data`: the notices of a
   * formal reminder as they were when it was sent): so mail can be queued inside a transaction without rendering
   * a PDF in it
   */
  render?: { kind: string; ref?: number; data?: unknown }
}

type Renderer = (sql: Sql, ref: number | undefined, data: unknown) => Promise<Buffer | null>
const renderers = new Map<string, Renderer>()

/** A feature's attachment made at sending time (the payment receipt's PDF, a reminder's notices): `render: { kind, ref | data }`. */
export function registerAttachment(kind: string, renderer: Renderer) {
  renderers.set(kind, renderer)
}

async function contentOf(sql: Sql, a: MailAttachment): Promise<Buffer> {
  if (a.contentBase64 !== undefined) return Buffer.from(a.contentBase64, 'base64')
  const renderer = a.render && renderers.get(a.render.kind)
  if (!a.render || !renderer) throw new Error(`attachment ${a.filename}: nothing to send`)
  const content = await renderer(sql, a.render.ref, a.render.data)
  if (!content) throw new Error(`attachment ${a.filename}: ${a.render.kind} ${a.render.ref} not available`)
  return content
}

export interface MailMessage {
  to: string
  subject: string
  text: string
  html?: string
  attachments?: MailAttachment[]
  /** one message per key, ever: a rerun of the same event sends nothing twice */
  dedupeKey?: string
}

export async function enqueueMail(tx: Tx | Sql, msg: MailMessage): Promise<boolean> {
  const rows = await tx`
    insert into platform.outbox (dedupe_key, to_address, subject, text_body, html_body, attachments)
    values (${msg.dedupeKey ?? null}, ${msg.to}, ${msg.subject}, ${msg.text}, ${msg.html ?? null},
            ${tx.json((msg.attachments ?? []) as unknown as Parameters<typeof tx.json>[0])})
    on conflict (dedupe_key) do nothing
    returning id`
  return rows.length > 0
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string,
  )
}

/** Plain text → simple HTML: paragraphs, line breaks and clickable links. */
export function textToHtml(text: string, lang: Lang): string {
  const paras = text
    .split(/\n{2,}/)
    .map((p) =>
      escapeHtml(p)
        .replace(/https?:\/\/[^\s<]+/g, (u) => `<a href="${u}">${u}</a>`)
        .replace(/\n/g, '<br>'),
    )
    .map((p) => `<p>${p}</p>`)
    .join('\n')
  return `<!DOCTYPE html><html lang="${lang}"><head><meta charset="utf-8"><title>Sportello</title></head><body style="font-family:system-ui,Arial,sans-serif;font-size:16px;line-height:1.5;color:#1a1a1a;max-width:40em">${paras}</body></html>`
}

/** A message from the catalogue: mail.<key>.subject and mail.<key>.body, filled with params. */
export function composeMail(lang: Lang, key: string, params: Record<string, string | number>, to: string): MailMessage {
  const t = translator(lang)
  const text = `${t(`mail.${key}.body`, params)}\n\n${t('mail.signature')}`
  return { to, subject: t(`mail.${key}.subject`, params), text, html: textToHtml(text, lang) }
}

const BACKOFF_SECONDS = [30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600]
export const MAX_ATTEMPTS = BACKOFF_SECONDS.length

export interface DrainResult {
  sent: number
  retried: number
  failed: number
}

interface OutboxRow {
  id: number
  to_address: string
  subject: string
  text_body: string
  html_body: string | null
  attachments: MailAttachment[]
  attempts: number
}

let cachedTransport: { url: string; transport: Transporter } | null = null

/**
 * nodemailer is loaded when mail is first sent, not at every start of a process that may send none. The transport
 * is pooled: a drain sends its messages over one kept connection (at most two), not a connection, greeting and
 * TLS handshake per message (about ten times faster against a relay); nodemailer reopens a connection the
 * server closed. `pool` in SMTP_URL overrides it.
 */
async function transportFor(url: string): Promise<Transporter> {
  if (cachedTransport?.url !== url) {
    const { createTransport } = (await import('nodemailer')).default
    const pooled = new URL(url)
    if (!pooled.searchParams.has('pool')) {
      pooled.searchParams.set('pool', 'true')
      pooled.searchParams.set('maxConnections', '2')
    }
    cachedTransport?.transport.close()
    const transport = createTransport(pooled.toString())
    // a kept connection the server closes or resets is nobody's error: the next message opens another
    transport.on('error', () => {})
    cachedTransport = { url, transport }
  }
  return cachedTransport.transport
}

/**
 * Sends what is due. Rows are claimed with SKIP LOCKED, so several instances drain side by side; a row left
 * in 'sending' by a crash goes back to the queue after ten minutes, with the same Message-ID.
 */
export async function drainOutbox(
  sql: Sql,
  config: Config,
  limit = 50,
  /** a LIKE pattern on the recipient: tests sharing one database drain only their own mail */
  only?: string,
): Promise<DrainResult> {
  const result: DrainResult = { sent: 0, retried: 0, failed: 0 }
  await sql`update platform.outbox set status = 'pending'
            where status = 'sending' and next_attempt_at < now() - interval '10 minutes'`
  const rows = await sql<OutboxRow[]>`
    update platform.outbox set status = 'sending', attempts = attempts + 1, next_attempt_at = now()
    where id in (select id from platform.outbox where status = 'pending' and next_attempt_at <= now()
                 ${only ? sql`and to_address like ${only}` : sql``}
                 order by id limit ${limit} for update skip locked)
    returning id, to_address, subject, text_body, html_body, attachments, attempts`
  for (const row of rows) {
    const messageId = `<outbox-${row.id}@${new URL(config.baseUrl).hostname}>`
    try {
      if (config.smtpUrl) {
        await (await transportFor(config.smtpUrl)).sendMail({
          from: config.mailFrom,
          to: row.to_address,
          subject: row.subject,
          text: row.text_body,
          html: row.html_body ?? undefined,
          messageId,
          attachments: await Promise.all(
            row.attachments.map(async (a) => ({
              filename: a.filename,
              contentType: a.contentType,
              content: await contentOf(sql, a),
            })),
          ),
        })
      } else if (config.production) {
        throw new Error('SMTP_URL is not configured')
      }
      await sql`update platform.outbox set status = 'sent', sent_at = now(), message_id = ${messageId}, last_error = null
                where id = ${row.id}`
      result.sent++
    } catch (err) {
      const message = (err instanceof Error ? err.message : String(err)).slice(0, 500)
      const final = row.attempts >= MAX_ATTEMPTS
      await sql`update platform.outbox set status = ${final ? 'failed' : 'pending'}, last_error = ${message},
                next_attempt_at = now() + make_interval(secs => ${BACKOFF_SECONDS[row.attempts - 1] ?? 3600})
                where id = ${row.id}`
      if (final) result.failed++
      else result.retried++
    }
  }
  return result
}
