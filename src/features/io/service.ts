// Notices and reminders in the IO app (decision 0102). A service the office connected to its IO service (API key
// sealed) sends each new notice, each due-date reminder and each formal reminder of its installments to the payer's
// IO inbox, with `payment_data` (amount in cents, the 18-digit notice number, the creditor as payee) and the due
// date, so the family can pay from the app. The rows are written in the transaction that issues or reminds
// (io_messages, unique key per installment and occasion: never twice); the io-messages job sends them, looking the
// citizen's profile up first (IO asks senders to), and never resends a message whose outcome it did not learn.
// The family's email goes out as before: IO is one more channel, not a replacement.

import { formatDate, romeInstant } from '../../platform/dates.ts'
import { type Db, type Tx, withTenant } from '../../platform/db.ts'
import { isLang, type Lang, translator } from '../../platform/i18n.ts'
import { forEachTenant, type JobContext } from '../../platform/jobs.ts'
import { formatMoney } from '../../platform/money.ts'
import { type Sealer, sealer } from '../../platform/secrets.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import {
  currentIoUrl,
  describeAnswer,
  type PassOptions,
  type RestAnswer,
  restCall,
  retryAt,
  Unreachable,
} from '../pagopa/connection.ts'
import { noticeLabel } from '../pagopa/notice-rules.ts'

export type IoKind = 'avviso' | 'promemoria' | 'sollecito'

/** Where a service's IO key is sealed: the tenant and the service. */
export const ioKeyContext = (tenant: Pick<Tenant, 'id'>, serviceId: number) => `tenant:${tenant.id}:io:${serviceId}`

/** IO's own test citizen, used by "test the key": found or not, a key that works is not refused. */
export const IO_TEST_FISCAL_CODE = 'AAAAAA00A00A000A'

interface InstallmentForIo {
  id: number
  seq: number
  installments: number
  amount_cents: number
  due_date: string
  notice_code: string
  description: string
  service_id: number
  service_name: string
  payer_cf: string
}

const spaced = (notice: string) => notice.replace(/(\d{4})(?=\d)/g, '$1 ')

/**
 * The message of one installment, in the family's language: the account's of that codice fiscale (proved) when
 * there is one, Italian otherwise, as for the emails.
 */
export function composeIoMessage(
  tenant: Pick<Tenant, 'name'>,
  kind: IoKind,
  i: Pick<InstallmentForIo, 'seq' | 'installments' | 'amount_cents' | 'due_date' | 'notice_code' | 'description'>,
  extra: { step?: number } = {},
  lang: Lang = 'it',
): { subject: string; markdown: string } {
  const t = translator(lang)
  const what = noticeLabel(i.description, i.seq, i.installments, lang)
  const head =
    kind === 'sollecito' && extra.step
      ? t('io.message.head.sollecitoStep', { step: extra.step })
      : t(`io.message.head.${kind}`)
  const due = formatDate(i.due_date)
  const subject = `${head}: ${what}`.slice(0, 120)
  const markdown = [
    t(`io.message.lead.${kind}`, { tenant: tenant.name, date: due }),
    what,
    [
      `- ${t('io.message.amount', { amount: formatMoney(i.amount_cents, lang) })}`,
      `- ${t('io.message.due', { date: due })}`,
      `- ${t('io.message.notice', { code: spaced(i.notice_code) })}`,
    ].join('\n'),
    t('io.message.howToPay'),
  ].join('\n\n')
  return { subject, markdown: markdown.slice(0, 10_000) }
}

/**
 * Writes the IO messages of these installments, for the services connected to IO, in the caller's transaction.
 * `keyOf` names each message's occasion (a notice, a reminder's offset, a formal reminder's step): the same key
 * again is ignored. Returns how many were new.
 */
export async function enqueueIo(
  tx: Tx,
  tenant: Pick<Tenant, 'name'>,
  kind: IoKind,
  items: { installmentId: number; occasion: string; step?: number }[],
): Promise<number> {
  if (items.length === 0) return 0
  const found = await tx<(InstallmentForIo & { lang: string | null })[]>`
    select i.id, i.seq, (select count(*)::int from installments x where x.document_id = d.id) as installments,
      i.amount_cents, i.due_date, i.notice_code, d.description, s.id as service_id, s.name as service_name,
      p.codice_fiscale as payer_cf, a.lang
    from installments i join documents d on d.id = i.document_id join services s on s.id = d.service_id
      join payers p on p.id = d.payer_id join service_io io on io.service_id = s.id
      left join platform.accounts a on a.codice_fiscale = p.codice_fiscale and a.deletion_requested_at is null
        and a.cf_proved_at is not null
    where i.id = any(${items.map((x) => x.installmentId)}::bigint[]) and io.enabled and io.api_key is not null
      and i.notice_code is not null and i.status = 'da_pagare' and d.cancelled_at is null`
  if (found.length === 0) return 0
  const byId = new Map(found.map((f) => [f.id, f]))
  const rows = items.flatMap((x) => {
    const i = byId.get(x.installmentId)
    if (!i) return []
    const m = composeIoMessage(tenant, kind, i, { step: x.step }, isLang(i.lang) ? i.lang : 'it')
    return [
      {
        dedupe_key: `${kind}:${x.installmentId}:${x.occasion}`,
        service_id: i.service_id,
        installment_id: i.id,
        fiscal_code: i.payer_cf,
        kind,
        subject: m.subject,
        markdown: m.markdown,
        amount_cents: i.amount_cents,
        notice_number: i.notice_code,
        due_date: i.due_date,
      },
    ]
  })
  const inserted = await tx`insert into io_messages ${tx(rows)} on conflict (dedupe_key) do nothing returning id`
  return inserted.length
}

/** A new document's notices. */
export async function enqueueIoNotices(tx: Tx, tenant: Pick<Tenant, 'name'>, installmentIds: number[]) {
  return enqueueIo(
    tx,
    tenant,
    'avviso',
    installmentIds.map((id) => ({ installmentId: id, occasion: 'nuovo' })),
  )
}

// ---- sending

interface Claimed {
  id: number
  service_id: number
  fiscal_code: string
  subject: string
  markdown: string
  amount_cents: number | null
  notice_number: string | null
  due_date: string | null
  attempts: number
}

type Result = {
  id: number
  status: 'inviato' | 'non_su_io' | 'non_abilitato' | 'errore' | 'incerto'
  ioMessageId: string | null
  error: string | null
  attempts: number
}

/** After 8 attempts (the backoff of retryAt) a failure stays as it is. */
const MAX_ATTEMPTS = 8
/** A message claimed this long ago and never confirmed: its call's outcome is unknown, so it is not sent again. */
const CLAIM_MINUTES = 15

export interface IoCounts {
  sent: number
  notOnIo: number
  notEnabled: number
  failed: number
  uncertain: number
  [k: string]: number
}

function isConnectError(err: unknown): boolean {
  const msg = String((err as Error)?.message ?? '')
  return /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|UND_ERR_CONNECT|connect/i.test(msg)
}

/** Sends the IO messages due for one tenant. */
export async function sendIoMessages(
  db: Db,
  tenant: Tenant,
  opts: PassOptions & { limit?: number },
): Promise<IoCounts> {
  const counts: IoCounts = { sent: 0, notOnIo: 0, notEnabled: 0, failed: 0, uncertain: 0 }
  const now = opts.now ?? new Date()
  const s: Sealer = sealer(opts.secretsKey)
  // claim what is due, committed before any call: a crash after this never sends a message twice
  const claimed = await withTenant(db.sql, tenant, async (tx) => {
    const stale =
      await tx`update io_messages set status = 'incerto', last_error = 'no answer recorded for the last call'
      where status = 'in_invio' and claimed_at < ${now}::timestamptz - ${`${CLAIM_MINUTES} minutes`}::interval returning id`
    counts.uncertain += stale.length
    const rows = await tx<Claimed[]>`
      update io_messages set status = 'in_invio', claimed_at = ${now}, attempts = attempts + 1
      where id in (select id from io_messages where status in ('da_inviare', 'errore') and next_attempt_at <= ${now}
                     and attempts < ${MAX_ATTEMPTS}
                   order by next_attempt_at, id limit ${opts.limit ?? 200} for update skip locked)
      returning id, service_id, fiscal_code, subject, markdown, amount_cents, notice_number, due_date, attempts`
    if (rows.length === 0) return null
    const [url, keys] = await Promise.all([
      currentIoUrl(tx),
      tx<{ service_id: number; api_key: string | null; enabled: boolean }[]>`
        select service_id, api_key, enabled from service_io where service_id = any(${[...new Set(rows.map((r) => r.service_id))]}::bigint[])`,
    ])
    return { rows, url, keys }
  })
  if (!claimed) return counts
  const conn = { urls: { aca: '', fdr: '', io: claimed.url }, tls: null }
  const results: Result[] = []
  for (const m of claimed.rows) {
    const k = claimed.keys.find((x) => x.service_id === m.service_id)
    const key = k?.enabled && k.api_key ? s.open(k.api_key, ioKeyContext(tenant, m.service_id)) : null
    const fail = (error: string, status: Result['status'] = 'errore'): Result => ({
      id: m.id,
      status,
      ioMessageId: null,
      error: error.slice(0, 500),
      attempts: m.attempts,
    })
    if (!key) {
      results.push(fail('the service is no longer connected to IO'))
      continue
    }
    // 1. the profile: is the citizen on IO, and does the citizen accept this service's messages?
    let profile: RestAnswer
    try {
      profile = await restCall(conn, 'io', {
        method: 'POST',
        path: '/profiles',
        key,
        body: { fiscal_code: m.fiscal_code },
      })
    } catch (err) {
      results.push(fail((err as Error).message))
      continue
    }
    if (profile.status === 404) {
      results.push({ id: m.id, status: 'non_su_io', ioMessageId: null, error: null, attempts: m.attempts })
      continue
    }
    if (profile.status !== 200) {
      results.push(fail(`profile: ${describeAnswer(profile)}`))
      continue
    }
    if (!(profile.body as { sender_allowed?: boolean }).sender_allowed) {
      results.push({ id: m.id, status: 'non_abilitato', ioMessageId: null, error: null, attempts: m.attempts })
      continue
    }
    // 2. the message
    const content: Record<string, unknown> = { subject: m.subject, markdown: m.markdown }
    if (m.amount_cents && m.notice_number)
      content.payment_data = {
        amount: Number(m.amount_cents),
        notice_number: m.notice_number,
        invalid_after_due_date: false,
        payee: { fiscal_code: tenant.fiscalCode },
      }
    if (m.due_date) content.due_date = romeInstant(`${m.due_date}T23:59:59`).toISOString()
    try {
      const a = await restCall(conn, 'io', {
        method: 'POST',
        path: '/messages',
        key,
        body: { fiscal_code: m.fiscal_code, content },
      })
      if (a.status === 201)
        results.push({
          id: m.id,
          status: 'inviato',
          ioMessageId: String((a.body as { id?: string })?.id ?? ''),
          error: null,
          attempts: m.attempts,
        })
      else results.push(fail(`message: ${describeAnswer(a)}`))
    } catch (err) {
      // refused before it left: safe to retry; anything else may have been delivered
      if (err instanceof Unreachable && isConnectError(err)) results.push(fail(err.message))
      else results.push(fail((err as Error).message, 'incerto'))
    }
  }
  for (const r of results) {
    if (r.status === 'inviato') counts.sent++
    else if (r.status === 'non_su_io') counts.notOnIo++
    else if (r.status === 'non_abilitato') counts.notEnabled++
    else if (r.status === 'incerto') counts.uncertain++
    else counts.failed++
  }
  const next = (r: Result) => (r.status === 'errore' ? retryAt(now, r.attempts) : now)
  await withTenant(
    db.sql,
    tenant,
    (tx) => tx`
    update io_messages m set status = v.status, io_message_id = v.io_message_id, last_error = v.last_error,
      next_attempt_at = v.next_attempt_at, sent_at = case when v.status = 'inviato' then ${now}::timestamptz end
    from (select unnest(${results.map((r) => r.id)}::bigint[]) as id,
                 unnest(${results.map((r) => r.status)}::text[]) as status,
                 unnest(${results.map((r) => r.ioMessageId)}::text[]) as io_message_id,
                 unnest(${results.map((r) => r.error)}::text[]) as last_error,
                 unnest(${results.map((r) => next(r).toISOString())}::timestamptz[]) as next_attempt_at) v
    where m.id = v.id`,
  )
  if (counts.failed) opts.log.warn({ tenant: tenant.slug, failed: counts.failed }, 'IO messages not sent')
  return counts
}

export async function runIoMessages(ctx: JobContext): Promise<Record<string, number>> {
  return forEachTenant(ctx, 'io-messages', async (tenant) => {
    const c = await sendIoMessages(ctx.db, tenant, { secretsKey: ctx.config.secretsKey, log: ctx.log, now: ctx.now })
    if (c.failed > 0) throw new Error(`${c.failed} IO message(s) not sent; they will be retried`)
    return c
  })
}
