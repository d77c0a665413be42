// The email a citizen receives when the office decides an application or communication. Messages come from
// this feature's catalogue (applications.mail.*) and are queued in the decision's transaction.
import { formatDateTime } from '../../platform/dates.ts'
import type { Tx } from '../../platform/db.ts'
import { type Lang, translator } from '../../platform/i18n.ts'
import { type MailMessage, textToHtml } from '../../platform/mail.ts'
import type { ApplicationRow } from './queries.ts'

/** What the application is, in words: the form's title, or the kind of communication. */
export function describe(t: (k: string) => string, app: Pick<ApplicationRow, 'kind' | 'form_title'>): string {
  return app.kind === 'iscrizione' && app.form_title ? app.form_title : t(`applications.kind.${app.kind}`)
}

export function decisionMail(
  lang: Lang,
  p: {
    to: string
    name: string
    tenant: string
    app: ApplicationRow
    outcome: 'accolta' | 'respinta'
    message: string
    link: string
  },
): MailMessage {
  const t = translator(lang)
  const params = {
    name: p.name,
    tenant: p.tenant,
    what: describe(t, p.app),
    ref: p.app.id,
    sent: p.app.submitted_at ? formatDateTime(p.app.submitted_at) : '',
    message: p.message || t('applications.mail.noMessage'),
    link: p.link,
  }
  const text = `${t(`applications.mail.${p.outcome}.body`, params)}\n\n${t('mail.signature')}`
  return { to: p.to, subject: t(`applications.mail.${p.outcome}.subject`, params), text, html: textToHtml(text, lang) }
}

/**
 * Queues a message in the platform outbox from a tenant transaction. The tenant role may insert there but
 * not read: enqueueMail's RETURNING, like an ON CONFLICT with a target column, needs SELECT. ON CONFLICT
 * without a target needs none, and the unique dedupe key still makes a second decision mail impossible.
 */
export async function queueMail(tx: Tx, msg: MailMessage): Promise<void> {
  await tx`
    insert into platform.outbox (dedupe_key, to_address, subject, text_body, html_body, attachments)
    values (${msg.dedupeKey ?? null}, ${msg.to}, ${msg.subject}, ${msg.text}, ${msg.html ?? null}, '[]'::jsonb)
    on conflict do nothing`
}
