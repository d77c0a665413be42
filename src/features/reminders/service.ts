// Due-date reminders of one tenant. Each open installment gets, per run, the reminder of the latest offset
// (tenant setting reminderDays, e.g. −7, 0, +7 days from the due date) whose day has come, unless it was
// decided before: reminders_sent has one row per (installment, offset), written in the same transaction as
// the outbox row of the email, so reruns, late runs, crashes and concurrent instances never send it twice
// nor lose it. One email per payer per run groups that payer's installments.

import { createHash } from 'node:crypto'
import { addDays, formatDate } from '../../platform/dates.ts'
import { type Sql, type Tx, withTenant } from '../../platform/db.ts'
import { type Lang, translator } from '../../platform/i18n.ts'
import { textToHtml } from '../../platform/mail.ts'
import { formatMoney } from '../../platform/money.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { enqueueIo } from '../io/service.ts'
import { LINK_DAYS, signReminderLink } from './link.ts'

/** A reminder may go out up to this many days after its day (the job was down, or ran late). */
export const CATCHUP_DAYS = 7

export interface ReminderRunOptions {
  /** the run's day in Rome, 'YYYY-MM-DD' */
  today: string
  baseUrl: string
  /** key of the "paga ora" links (linkSecret(config.sessionSecret)) */
  linkSecret: string
  /** payers per transaction */
  batchSize?: number
  /** tests: called between steps; throwing simulates a crash there */
  step?: (name: string) => void | Promise<void>
}

export interface ReminderCounts {
  emails: number
  reminders: number
  noAddress: number
  optedOut: number
}

/** Pure rule, mirrored by the SQL below: which offset's reminder is due today for this due date, if any. */
export function applicableOffset(offsets: number[], dueDate: string, today: string): number | null {
  let best: number | null = null
  for (const o of offsets) if (addDays(dueDate, o) <= today && (best === null || o > best)) best = o
  if (best === null) return null
  const late = daysBetween(addDays(dueDate, best), today)
  return late < CATCHUP_DAYS ? best : null
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000)
}

interface Candidate {
  id: number
  seq: number
  installments_in_document: number
  due_date: string
  amount_cents: number
  notice_code: string
  description: string
  payer_id: number
  pupil: string | null
  offset_days: number
}

/** Installments whose reminder is due today and not yet decided; for some payers, or all. */
function candidates(tx: Tx | Sql, offsets: number[], today: string, payerIds?: number[]) {
  const min = Math.min(...offsets)
  const max = Math.max(...offsets)
  return tx<Candidate[]>`
    select i.id, i.seq, (select count(*)::int from installments x where x.document_id = d.id) as installments_in_document,
      i.due_date, i.amount_cents, i.notice_code, d.description, d.payer_id,
      pu.given_name || ' ' || pu.family_name as pupil, k.offset_days
    from installments i
      join documents d on d.id = i.document_id
      left join pupils pu on pu.id = d.pupil_id
      cross join lateral (
        select max(o)::int as offset_days from unnest(${offsets}::int[]) o where i.due_date + o <= ${today}::date
      ) k
    where i.status = 'da_pagare' and d.cancelled_at is null
      and i.due_date between ${today}::date - ${max + CATCHUP_DAYS}::int and ${today}::date - ${min}::int
      and k.offset_days is not null
      and ${today}::date - (i.due_date + k.offset_days) < ${CATCHUP_DAYS}
      and not exists (select 1 from reminders_sent r where r.installment_id = i.id and r.offset_days = k.offset_days)
      ${payerIds ? tx`and d.payer_id = any(${payerIds})` : tx``}
    order by d.payer_id, i.due_date, i.id`
}

interface PayerRow {
  id: number
  given_name: string
  family_name: string
  payer_email: string | null
  account_email: string | null
  account_confirmed: boolean
  reminders: boolean | null
  lang: Lang | null
}

/**
 * Who gets the email: the payer the documents are issued to (the holder). An account with the same codice
 * fiscale decides: reminders off → nothing; its confirmed address and language otherwise. Without an account
 * (or with an unconfirmed address) the address the office recorded for the payer is used, if any.
 */
function recipient(p: PayerRow): { outcome: 'queued' | 'no_address' | 'opted_out'; to: string | null; lang: Lang } {
  const lang: Lang = p.lang ?? 'it'
  if (p.reminders === false) return { outcome: 'opted_out', to: null, lang }
  const to = (p.account_confirmed ? p.account_email : null) ?? p.payer_email ?? null
  return to ? { outcome: 'queued', to, lang } : { outcome: 'no_address', to: null, lang }
}

function whenText(t: ReturnType<typeof translator>, due: string, today: string): string {
  const d = daysBetween(today, due)
  const date = formatDate(due)
  if (d === 0) return t('reminders.mail.when.today', { date })
  if (d === 1) return t('reminders.mail.when.tomorrow', { date })
  if (d > 1) return t('reminders.mail.when.before', { date, days: d })
  if (d === -1) return t('reminders.mail.when.yesterday', { date })
  return t('reminders.mail.when.after', { date, days: -d })
}

export function composeReminder(
  lang: Lang,
  tenant: Pick<Tenant, 'name'>,
  payerName: string,
  items: Candidate[],
  today: string,
  link: string,
  profileLink: string,
): { subject: string; text: string; html: string } {
  const t = translator(lang)
  const lines = items.map((c) => {
    const params = {
      pupil: c.pupil ?? '',
      description: c.description,
      seq: c.seq,
      amount: formatMoney(c.amount_cents, lang),
      when: whenText(t, c.due_date, today),
      notice: c.notice_code,
    }
    const key = c.installments_in_document > 1 ? 'reminders.mail.lineInstallment' : 'reminders.mail.line'
    return `${c.pupil ? t('reminders.mail.pupil', params) : ''}${t(key, params)}`
  })
  const total = items.reduce((s, c) => s + c.amount_cents, 0)
  const text = [
    t('reminders.mail.greeting', { name: payerName }),
    t('reminders.mail.intro', { tenant: tenant.name, count: items.length }),
    lines.join('\n\n'),
    t('reminders.mail.total', { amount: formatMoney(total, lang) }),
    t('reminders.mail.payNow', { link }),
    t('reminders.mail.elsewhere'),
    t('reminders.mail.alreadyPaid'),
    t('reminders.mail.optOut', { link: profileLink }),
    t('mail.signature'),
  ].join('\n\n')
  return { subject: t('reminders.mail.subject', { tenant: tenant.name }), text, html: textToHtml(text, lang) }
}

/** Sends today's reminders of one tenant; returns what was done. */
export async function runReminders(sql: Sql, tenant: Tenant, opts: ReminderRunOptions): Promise<ReminderCounts> {
  const counts: ReminderCounts = { emails: 0, reminders: 0, noAddress: 0, optedOut: 0 }
  const offsets = [...new Set(tenant.settings.reminderDays)]
  if (offsets.length === 0) return counts
  const step = opts.step ?? (() => {})
  // who has something due: a cheap first pass, then one transaction per batch of payers
  const due = await withTenant(sql, tenant, (tx) => candidates(tx, offsets, opts.today))
  const payerIds = [...new Set(due.map((c) => c.payer_id))]
  await step('listed')
  const batch = opts.batchSize ?? 200
  for (let i = 0; i < payerIds.length; i += batch) {
    const chunk = payerIds.slice(i, i + batch)
    const done = await withTenant(sql, tenant, (tx) => sendBatch(tx, tenant, offsets, chunk, opts, step))
    counts.emails += done.emails
    counts.reminders += done.reminders
    counts.noAddress += done.noAddress
    counts.optedOut += done.optedOut
    await step('committed')
  }
  return counts
}

async function sendBatch(
  tx: Tx,
  tenant: Tenant,
  offsets: number[],
  payerIds: number[],
  opts: ReminderRunOptions,
  step: (name: string) => void | Promise<void>,
): Promise<ReminderCounts> {
  const counts: ReminderCounts = { emails: 0, reminders: 0, noAddress: 0, optedOut: 0 }
  // read again inside the transaction: what was paid or decided meanwhile drops out
  const items = await candidates(tx, offsets, opts.today, payerIds)
  if (items.length === 0) return counts
  const payers = await tx<PayerRow[]>`
    select p.id, p.given_name, p.family_name, p.email as payer_email, a.email as account_email,
      a.email_confirmed_at is not null as account_confirmed, a.reminders, a.lang
    from payers p
      left join platform.accounts a on a.codice_fiscale = p.codice_fiscale and a.deletion_requested_at is null
        and a.cf_proved_at is not null
    where p.id = any(${payerIds})`
  const byPayer = new Map<number, Candidate[]>()
  for (const c of items) byPayer.set(c.payer_id, [...(byPayer.get(c.payer_id) ?? []), c])
  const decisions = new Map<number, ReturnType<typeof recipient> & { key: string }>()
  for (const p of payers) {
    const mine = byPayer.get(p.id)
    if (!mine) continue
    const pairs = mine.map((c) => `${c.id}/${c.offset_days}`).join(',')
    const hash = createHash('sha256').update(pairs).digest('hex').slice(0, 20)
    decisions.set(p.id, { ...recipient(p), key: `reminder:${tenant.id}:${p.id}:${opts.today}:${hash}` })
  }
  const rows = items.filter((c) => decisions.has(c.payer_id))
  // the unique key decides: a concurrent run that got here first keeps these, and we send nothing for them
  const recorded = await tx<{ installment_id: number; offset_days: number }[]>`
    insert into reminders_sent (installment_id, offset_days, payer_id, run_date, outcome, outbox_key)
    select * from unnest(${rows.map((c) => c.id)}::bigint[], ${rows.map((c) => c.offset_days)}::int[],
      ${rows.map((c) => c.payer_id)}::bigint[], ${rows.map(() => opts.today)}::date[],
      ${rows.map((c) => (decisions.get(c.payer_id) as { outcome: string }).outcome)}::text[],
      ${rows.map((c) => {
        const d = decisions.get(c.payer_id) as { outcome: string; key: string }
        return d.outcome === 'queued' ? d.key : null
      })}::text[])
    on conflict (installment_id, offset_days) do nothing
    returning installment_id, offset_days`
  await step('recorded')
  const won = new Set(recorded.map((r) => `${r.installment_id}/${r.offset_days}`))
  const mails: { dedupe_key: string; to_address: string; subject: string; text_body: string; html_body: string }[] = []
  const expires = new Date(Date.parse(`${opts.today}T12:00:00Z`) + LINK_DAYS * 86_400_000)
  for (const p of payers) {
    const d = decisions.get(p.id)
    const mine = (byPayer.get(p.id) ?? []).filter((c) => won.has(`${c.id}/${c.offset_days}`))
    if (!d || mine.length === 0) continue
    counts.reminders += mine.length
    if (d.outcome === 'opted_out') counts.optedOut += mine.length
    if (d.outcome === 'no_address') counts.noAddress += mine.length
    if (d.outcome !== 'queued' || !d.to) continue
    const token = signReminderLink(
      opts.linkSecret,
      { tenantId: tenant.id, installmentIds: mine.map((c) => c.id) },
      expires,
    )
    const mail = composeReminder(
      d.lang,
      tenant,
      `${p.given_name} ${p.family_name}`,
      mine,
      opts.today,
      `${opts.baseUrl}/carrello/promemoria/${token}`,
      `${opts.baseUrl}/profilo/modifica`,
    )
    mails.push({
      dedupe_key: d.key,
      to_address: d.to,
      subject: mail.subject,
      text_body: mail.text,
      html_body: mail.html,
    })
  }
  // and in the IO app, for services connected to it: also for a family without an email address, never for one that
  // turned reminders off (decision 0102)
  await enqueueIo(
    tx,
    tenant,
    'promemoria',
    rows
      .filter((c) => won.has(`${c.id}/${c.offset_days}`) && decisions.get(c.payer_id)?.outcome !== 'opted_out')
      .map((c) => ({ installmentId: c.id, occasion: `${c.offset_days}` })),
  )
  if (mails.length) {
    // The tenant role may insert into the platform outbox but not read it (so no ON CONFLICT, no RETURNING).
    // The keys cannot collide: each names reminders this transaction has just recorded for the first time.
    await tx`insert into platform.outbox ${tx(mails)}`
    counts.emails += mails.length
  }
  await step('queued')
  return counts
}
