// Formal reminders (solleciti, decision 0097): the families with overdue installments that match the office's filter
// (service, school, class, school year, days overdue, amount), and one action that sends the chosen step (1st, 2nd,
// final) to the families chosen — an email through the outbox with the pagoPA notices attached and a pay-now link,
// or, for a family without an address, a letter the office prints. One row per installment and step: a step is
// never sent twice, whatever is clicked twice or runs at the same time; installments paid meanwhile drop out.

import { type Actor, audit } from '../../platform/audit.ts'
import { addDays, formatDate } from '../../platform/dates.ts'
import type { Tx } from '../../platform/db.ts'
import { type Lang, translator } from '../../platform/i18n.ts'
import { registerAttachment, textToHtml } from '../../platform/mail.ts'
import { formatMoney } from '../../platform/money.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { type NoticePdfData, noticeFor, renderNoticesPdf } from '../debts/notice-pdf.ts'
import { enqueueIo } from '../io/service.ts'
import { LINK_DAYS, signReminderLink } from '../reminders/link.ts'

export const STEPS = [1, 2, 3] as const
export type Step = (typeof STEPS)[number]

export interface DebtorFilter {
  serviceId: number | null
  schoolId: number | null
  classId: number | null
  /** the school year starting on 1 September of this year (due dates in it); null: every year */
  schoolYear: number | null
  /** overdue by at least this many days */
  minDays: number
  /** families whose overdue total is at least this; null: any */
  minCents: number | null
}

export interface OverdueRow {
  id: number
  seq: number
  of: number
  due_date: string
  amount_cents: number
  notice_code: string
  iuv: string
  document_id: number
  description: string
  causale: string
  payer_id: number
  given_name: string
  family_name: string
  codice_fiscale: string
  address: string | null
  payer_email: string | null
  account_email: string | null
  account_confirmed: boolean | null
  lang: Lang | null
  pupil: string | null
  /** the highest step already sent for this installment, 0 for none */
  last_step: number
}

export interface Family {
  payerId: number
  name: string
  codiceFiscale: string
  address: string | null
  /** where the email goes; null: a letter */
  email: string | null
  lang: Lang
  installments: OverdueRow[]
  totalCents: number
  lastStep: number
}

const LIMIT = 5000

/** The overdue installments matching the filter (for some payers), each with what a reminder and its notice need. */
export function overdue(tx: Tx, f: DebtorFilter, today: string, payerIds?: number[]): Promise<OverdueRow[]> {
  const dueBy = addDays(today, -Math.max(1, f.minDays))
  const inClass =
    f.classId || f.schoolId
      ? tx`exists (select 1 from canteen_enrollments e join canteen_classes c on c.id = e.class_id
                   where e.pupil_id = d.pupil_id
                     and ${f.classId ? tx`c.id = ${f.classId}` : tx`true`}
                     and ${f.schoolId ? tx`c.school_id = ${f.schoolId}` : tx`true`})`
      : tx`true`
  return tx<OverdueRow[]>`
    select i.id, i.seq, (select count(*)::int from installments x where x.document_id = d.id) as of, i.due_date,
      i.amount_cents, i.notice_code, i.iuv, d.id as document_id, d.description, s.causale, d.payer_id, p.given_name,
      p.family_name, p.codice_fiscale, p.address, p.email as payer_email, a.email as account_email,
      a.email_confirmed_at is not null as account_confirmed, a.lang,
      pu.given_name || ' ' || pu.family_name as pupil,
      coalesce((select max(so.step) from solleciti so where so.installment_id = i.id), 0) as last_step
    from installments i
      join documents d on d.id = i.document_id
      join services s on s.id = d.service_id
      join payers p on p.id = d.payer_id
      left join pupils pu on pu.id = d.pupil_id
      left join platform.accounts a on a.codice_fiscale = p.codice_fiscale and a.deletion_requested_at is null
        and a.cf_proved_at is not null
    where i.status = 'da_pagare' and d.cancelled_at is null and i.due_date <= ${dueBy}::date
      and ${f.serviceId ? tx`d.service_id = ${f.serviceId}` : tx`true`}
      and ${
        f.schoolYear
          ? tx`i.due_date between ${`${f.schoolYear}-09-01`}::date and ${`${f.schoolYear + 1}-08-31`}::date`
          : tx`true`
      }
      and ${inClass}
      and ${payerIds ? tx`d.payer_id = any(${payerIds})` : tx`true`}
    order by p.family_name, p.given_name, p.id, i.due_date, i.id
    limit ${LIMIT}`
}

/** The rows by family, the amount filter applied to each family's total. */
export function families<R extends OverdueRow>(
  rows: R[],
  f: Pick<DebtorFilter, 'minCents'>,
): (Family & { installments: R[] })[] {
  const out = new Map<number, Family & { installments: R[] }>()
  for (const r of rows) {
    let fam = out.get(r.payer_id)
    if (!fam) {
      fam = {
        payerId: r.payer_id,
        name: `${r.given_name} ${r.family_name}`,
        codiceFiscale: r.codice_fiscale,
        address: r.address,
        email: (r.account_confirmed ? r.account_email : null) ?? r.payer_email ?? null,
        lang: r.lang ?? 'it',
        installments: [],
        totalCents: 0,
        lastStep: 0,
      }
      out.set(r.payer_id, fam)
    }
    fam.installments.push(r)
    fam.totalCents += r.amount_cents
    fam.lastStep = Math.max(fam.lastStep, r.last_step)
  }
  return [...out.values()].filter((x) => f.minCents === null || x.totalCents >= f.minCents)
}

export interface SendOptions {
  step: Step
  payerIds: number[]
  filter: DebtorFilter
  today: string
  baseUrl: string
  linkSecret: string
}

export interface SendOutcome {
  lottoId: number
  families: number
  emails: number
  letters: number
  installments: number
  /** installments that already had this step (skipped) */
  skipped: number
}

/**
 * Sends the step to the chosen families, in the caller's transaction: what is overdue is read again here (paid
 * meanwhile: left out), each installment recorded once per step (the key decides between two clerks), one email per
 * family with an address (its notices attached, rendered when the mail is sent from the data recorded here), a letter
 * for the others. Returns null when nothing is left to send.
 */
export async function sendSolleciti(tx: Tx, tenant: Tenant, actor: Actor, o: SendOptions): Promise<SendOutcome | null> {
  const chosen = families(await overdue(tx, o.filter, o.today, o.payerIds), o.filter)
  const rows = chosen.flatMap((fam) => fam.installments.map((i) => ({ fam, i })))
  const eligible = rows.filter((r) => r.i.last_step < o.step)
  if (!eligible.length) return null
  const [lotto] = await tx<{ id: number }[]>`
    insert into solleciti_lotti (step, filters, created_by_name)
    values (${o.step}, ${tx.json(o.filter as unknown as Parameters<typeof tx.json>[0])}, ${actor.name}) returning id`
  const lottoId = (lotto as { id: number }).id
  const keyOf = (payerId: number) => `sollecito:${tenant.id}:${lottoId}:${payerId}`
  const won = await tx<{ installment_id: number }[]>`
    insert into solleciti (installment_id, step, lotto_id, payer_id, channel, sent_on, amount_cents, outbox_key)
    select * from unnest(${eligible.map((r) => r.i.id)}::bigint[], ${eligible.map(() => o.step)}::int[],
      ${eligible.map(() => lottoId)}::bigint[], ${eligible.map((r) => r.fam.payerId)}::bigint[],
      ${eligible.map((r) => (r.fam.email ? 'email' : 'lettera'))}::text[], ${eligible.map(() => o.today)}::date[],
      ${eligible.map((r) => r.i.amount_cents)}::bigint[],
      ${eligible.map((r) => (r.fam.email ? keyOf(r.fam.payerId) : null))}::text[])
    on conflict (installment_id, step) do nothing
    returning installment_id`
  const wonIds = new Set(won.map((w) => w.installment_id))
  // another clerk sent this step to all of them a moment ago: no batch of nothing
  if (!wonIds.size) {
    await tx`delete from solleciti_lotti where id = ${lottoId}`
    return null
  }
  // each formal reminder also in the IO app, for services connected to it (decision 0102)
  await enqueueIo(
    tx,
    tenant,
    'sollecito',
    [...wonIds].map((id) => ({ installmentId: id, occasion: `${o.step}`, step: o.step })),
  )
  const sent = chosen
    .map((fam) => ({ ...fam, installments: fam.installments.filter((i) => wonIds.has(i.id)) }))
    .filter((fam) => fam.installments.length)
  const expires = new Date(Date.parse(`${o.today}T12:00:00Z`) + LINK_DAYS * 86_400_000)
  const mails = sent
    .filter((fam) => fam.email)
    .map((fam) => {
      const link = `${o.baseUrl}/carrello/promemoria/${signReminderLink(
        o.linkSecret,
        { tenantId: tenant.id, installmentIds: fam.installments.map((i) => i.id) },
        expires,
      )}`
      const msg = sollecitoMail(fam.lang, tenant, fam, o.step, link)
      const notices = fam.installments.map((i) => noticeOf(tenant, o.baseUrl, fam, i))
      return {
        dedupe_key: keyOf(fam.payerId),
        to_address: fam.email as string,
        subject: msg.subject,
        text_body: msg.text,
        html_body: textToHtml(msg.text, fam.lang),
        attachments: tx.json([
          {
            filename: fam.lang === 'en' ? 'pagopa-notices.pdf' : 'avvisi-pagopa.pdf',
            contentType: 'application/pdf',
            render: { kind: 'avvisi-pagopa', data: notices },
          },
        ] as unknown as Parameters<typeof tx.json>[0]),
      }
    })
  // the tenant role may insert into the outbox but not read it; the keys name this new batch, so none collides
  if (mails.length) await tx`insert into platform.outbox ${tx(mails)}`
  const outcome = {
    families: sent.length,
    emails: mails.length,
    letters: sent.length - mails.length,
    installments: wonIds.size,
    total: sent.reduce((s, fam) => s + fam.installments.reduce((n, i) => n + i.amount_cents, 0), 0),
  }
  await tx`update solleciti_lotti set families = ${outcome.families}, emails = ${outcome.emails},
             letters = ${outcome.letters}, installments = ${outcome.installments}, total_cents = ${outcome.total}
           where id = ${lottoId}`
  await audit(tx, actor, {
    action: 'solleciti.send',
    entity: 'solleciti_lotto',
    entityId: lottoId,
    after: { step: o.step, ...outcome, filter: o.filter },
  })
  return {
    lottoId,
    families: outcome.families,
    emails: outcome.emails,
    letters: outcome.letters,
    installments: outcome.installments,
    skipped: rows.length - wonIds.size,
  }
}

/** The notice of one installment as its PDF prints it (the data the attachment is rendered from when sent). */
export function noticeOf(tenant: Tenant, baseUrl: string, fam: Family, i: OverdueRow): NoticePdfData {
  return noticeFor(
    tenant,
    baseUrl,
    fam.lang,
    { name: fam.name, codiceFiscale: fam.codiceFiscale, address: fam.address },
    {
      ...i,
      seq_of: i.of,
      pupil_name: i.pupil,
    },
  )
}

export function sollecitoMail(
  lang: Lang,
  tenant: Pick<Tenant, 'name' | 'contacts'>,
  fam: Pick<Family, 'name' | 'installments'>,
  step: Step,
  link: string,
): { subject: string; text: string } {
  const t = translator(lang)
  const lines = fam.installments.map((i) =>
    t('solleciti.mail.line', {
      description: i.description,
      seq: i.seq,
      of: i.of,
      due: formatDate(i.due_date),
      amount: formatMoney(i.amount_cents, lang),
      code: i.notice_code,
      pupil: i.pupil ? ` – ${i.pupil}` : '',
    }),
  )
  const total = fam.installments.reduce((s, i) => s + i.amount_cents, 0)
  const contact = tenant.contacts.email ?? tenant.contacts.phone ?? ''
  const text = [
    t('solleciti.mail.greeting', { name: fam.name }),
    t(`solleciti.mail.intro.${step}`, { tenant: tenant.name }),
    lines.join('\n'),
    t('solleciti.mail.total', { amount: formatMoney(total, lang) }),
    t('solleciti.mail.payNow', { link }),
    t('solleciti.mail.attached'),
    t('solleciti.mail.alreadyPaid'),
    contact ? t('solleciti.mail.contact', { contact }) : '',
    t('mail.signature'),
  ]
    .filter(Boolean)
    .join('\n\n')
  return { subject: t(`solleciti.mail.subject.${step}`, { tenant: tenant.name }), text }
}

// the notices of a reminder, rendered when its email is sent, from the data recorded with it
registerAttachment('avvisi-pagopa', async (_sql, _ref, data) =>
  Array.isArray(data) && data.length ? renderNoticesPdf(data as NoticePdfData[]) : null,
)

export interface LottoRow {
  id: number
  step: Step
  filters: DebtorFilter
  families: number
  emails: number
  letters: number
  installments: number
  total_cents: number
  created_by_name: string
  created_at: Date
}

/** A batch with its families (channel, installments, total) as recorded, for its page and its letters. */
export async function loadLotto(tx: Tx, id: number) {
  const [lotto] = await tx<LottoRow[]>`select * from solleciti_lotti where id = ${id}`
  if (!lotto) return null
  const rows = await tx<(OverdueRow & { channel: 'email' | 'lettera'; sent_on: string })[]>`
    select i.id, i.seq, (select count(*)::int from installments x where x.document_id = d.id) as of, i.due_date,
      so.amount_cents, i.notice_code, i.iuv, d.id as document_id, d.description, s.causale, so.payer_id, p.given_name,
      p.family_name, p.codice_fiscale, p.address, p.email as payer_email, null as account_email,
      null as account_confirmed, null as lang, pu.given_name || ' ' || pu.family_name as pupil, so.step as last_step,
      so.channel, so.sent_on
    from solleciti so
      join installments i on i.id = so.installment_id
      join documents d on d.id = i.document_id
      join services s on s.id = d.service_id
      join payers p on p.id = so.payer_id
      left join pupils pu on pu.id = d.pupil_id
    where so.lotto_id = ${id}
    order by p.family_name, p.given_name, p.id, i.due_date, i.id`
  // grouped as when sent; each family's channel is its installments'
  const grouped = families(rows, { minCents: null }).map((fam) => ({
    ...fam,
    channel: (fam.installments[0] as (typeof rows)[number]).channel,
  }))
  return { lotto, families: grouped }
}
